"""One error envelope for every API response that is not a success:
``{"error": {"code": "...", "message": "...", "details": {...}}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from siyu.errors import SiyuError

log = logging.getLogger("siyu.api")

_HTTP_CODES = {400: "request.invalid", 401: "auth.unauthorized", 403: "auth.forbidden", 404: "not_found",
               405: "request.method_not_allowed", 409: "conflict", 413: "request.too_large",
               415: "request.unsupported_media_type", 422: "request.invalid", 429: "rate_limited"}


def envelope(status: int, code: str, message: str, details: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or {}}}, status_code=status,
                        headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(SiyuError)
    async def _siyu_error(_request: Request, error: SiyuError) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="siyu"'} if error.status == 401 else None
        return envelope(error.status, error.code, error.message, error.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [{"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                    for e in error.errors()]
        first = problems[0] if problems else {"location": "", "message": "invalid request"}
        return envelope(400, "request.invalid", f"{first['location']}: {first['message']}",
                        {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "http_error")
        message = error.detail if isinstance(error.detail, str) else "request failed"
        return envelope(error.status_code, code, message, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return envelope(500, "internal", "An internal error occurred; it has been logged. This is a bug in siyu.")
