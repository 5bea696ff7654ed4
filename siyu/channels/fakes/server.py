"""A real HTTP server on loopback, in a thread: what every fake provider runs on.

The standard library's threading server is enough (a handful of requests per test, a demo's worth
in the sandbox) and adds no dependency to the package.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


class Request:
    """What a handler needs from one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = {name.lower(): value for name, value in handler.headers.items()}
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Redirect:
    """An answer that sends the browser on (``302`` with ``Location``), for fakes of pages such as
    WeChat's OAuth authorise page."""

    def __init__(self, location: str) -> None:
        self.location = location


class LoopbackServer:
    """Subclasses answer :meth:`handle` with ``(status, JSON-able body)``; the server runs until
    :meth:`stop` (or the ``with`` block ends)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = fake.handle(Request(self, body))
                if isinstance(answer, Redirect):
                    self.send_response(302)
                    self.send_header("Location", answer.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                raw = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's API

            def log_message(self, *args: Any) -> None:
                return

        self.host = host
        self.lock = threading.Lock()  # handlers run on several threads; fakes guard their state with it
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name=f"{type(self).__name__}:{self.port}")
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def handle(self, request: Request) -> tuple[int, Any]:
        raise NotImplementedError

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
