"""The journeys capability's errors, each with a stable code."""

from __future__ import annotations

from siyu.errors import SiyuError


class JourneyError(SiyuError):
    code = "journeys.invalid"
    status = 422


class InvalidJourney(JourneyError):
    """A definition that does not parse: ``details`` name the ``path``, the ``step`` and ``field``, and why."""

    code = "journeys.invalid_definition"
    status = 422

    def __init__(self, path: str, reason: str, *, step: str | None = None) -> None:
        field = path.split(".")[-1] if path else ""
        super().__init__(f"{path}: {reason}", details={"path": path, "step": step, "field": field,
                                                       "reason": reason})


class JourneyNotFound(JourneyError):
    code = "journeys.not_found"
    status = 404


class JourneyConflict(JourneyError):
    """The journey's state does not allow this (publishing an archived journey, resuming a draft, ...)."""

    code = "journeys.conflict"
    status = 409
