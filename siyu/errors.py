"""One root exception; one subclass per capability, each with a stable machine code.

The API renders every :class:`SiyuError` as ``{"error": {"code", "message", "details"}}`` with its
``status``; the CLI prints the message and exits 2. Messages say what happened and what to do.
"""

from __future__ import annotations

from typing import Any


class SiyuError(Exception):
    code = "siyu.error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(SiyuError):
    code = "not_found"
    status = 404


class AuthError(SiyuError):
    code = "auth.unauthorized"
    status = 401


class Forbidden(SiyuError):
    code = "auth.forbidden"
    status = 403


class ValidationError(SiyuError):
    code = "request.invalid"
    status = 400


class ConflictError(SiyuError):
    code = "conflict"
    status = 409
