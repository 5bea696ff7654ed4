"""Growth tasks' errors, each with a stable code (``loyalty.task_exists`` …); part of loyalty's family."""

from __future__ import annotations

from siyu.loyalty.errors import LoyaltyError


class TaskInvalid(LoyaltyError):
    """A task definition that does not hold together; ``details.field`` names what."""

    code = "loyalty.task_invalid"
    status = 422


class TaskExists(LoyaltyError):
    """The workspace already has a task with this key: pick another key, or update that task."""

    code = "loyalty.task_exists"
    status = 409


class TaskNotFound(LoyaltyError):
    code = "loyalty.task_not_found"
    status = 404


class NotAttendance(LoyaltyError):
    """Attendance is marked on an ``attend_event`` task only."""

    code = "loyalty.task_not_attendance"
    status = 409
