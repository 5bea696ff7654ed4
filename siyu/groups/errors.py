"""The groups capability's errors, each with a stable code."""

from __future__ import annotations

from siyu.errors import SiyuError


class GroupError(SiyuError):
    code = "groups.invalid"
    status = 422


class GroupNotFound(GroupError):
    code = "groups.not_found"
    status = 404


class GroupConflict(GroupError):
    """The same idempotency key with different parameters, a tag that exists already, ..."""

    code = "groups.conflict"
    status = 409
