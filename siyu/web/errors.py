"""Console failures render a page in the reader's language, never the API's JSON envelope.

Console routes use ``ConsoleRoute``, which turns bad input (400; 404 when it is the path that is
malformed, as in ``/profiles/abc``), HTTP errors and unexpected exceptions (500, logged) into an
error page. ``install`` extends the app's HTTP-error handler so that an unknown URL opened in a
browser (GET, ``Accept: text/html``, outside the API) gets a page too; API clients keep the envelope.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from siyu.web.i18n import choose_locale
from siyu.web.rendering import render

log = logging.getLogger("siyu.web")

API_PREFIXES = ("/api/", "/v1/", "/static/", "/openapi.json")

# status -> (heading, explanation); msgids translated in the catalogues.
_MESSAGES = {
    400: ("This request could not be understood", "Check the address or the form and try again."),
    404: ("Page not found", "There is nothing at this address in this workspace."),
    405: ("Page not found", "There is nothing at this address in this workspace."),
    500: ("Something went wrong", "The error has been logged. Please try again in a moment."),
}


def error_page(request: Request, status: int) -> HTMLResponse:
    """A page for a failed console request. Rendered without touching the database (it may be
    the database that failed), so the language comes from the session or Accept-Language."""
    session = request.scope.get("session") or {}
    locale = choose_locale(session.get("locale"), request.headers.get("accept-language"))
    heading, message = _MESSAGES.get(status, _MESSAGES[400 if status < 500 else 500])
    return render(request, "error.html", locale=locale, status=status, heading=heading, message=message,
                  signed_in=bool(session.get("user_id")))


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                in_path = any(e.get("loc", ("",))[0] == "path" for e in error.errors())
                return error_page(request, 404 if in_path else 400)
            except StarletteHTTPException as error:
                return error_page(request, error.status_code)
            except Exception as error:  # noqa: BLE001 - logged with its traceback, shown as a 500 page
                log.exception("console page failed: %s %s", request.method, request.url.path, exc_info=error)
                return error_page(request, 500)

        return handle


def wants_page(request: Request) -> bool:
    return (request.method in ("GET", "HEAD") and not request.url.path.startswith(API_PREFIXES)
            and "text/html" in request.headers.get("accept", ""))


def install(app: FastAPI) -> None:
    api_handler: Callable[..., Any] | None = app.exception_handlers.get(StarletteHTTPException)

    async def handle(request: Request, error: StarletteHTTPException) -> Response:
        if wants_page(request) or api_handler is None:
            return error_page(request, error.status_code)
        answer = api_handler(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, handle)  # type: ignore[arg-type]
