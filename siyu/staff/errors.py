"""The staff capability's errors, each with a stable code."""

from __future__ import annotations

from siyu.errors import SiyuError


class StaffError(SiyuError):
    code = "staff.invalid"
    status = 422


class StaffNotFound(StaffError):
    code = "staff.not_found"
    status = 404


class StaffConflict(StaffError):
    """The state does not allow this (a transfer from a member still active for 离职继承, ...)."""

    code = "staff.conflict"
    status = 409
