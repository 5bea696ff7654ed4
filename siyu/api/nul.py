"""Refuse NUL characters before they reach the database.

PostgreSQL cannot store U+0000 in text or jsonb ("unsupported Unicode escape sequence"), so a
request carrying one would otherwise fail deep inside a transaction as a 500. This middleware
answers 400 for a NUL in the path, the query string, or a JSON / form body of the management API
and the console; ingest checks its own (possibly gzipped) bodies in :mod:`siyu.ingest.http`.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_CHECKED_BODY = 10 * 1024 * 1024


def _refusal() -> list[dict[str, Any]]:
    message = "The request contains a NUL character (U+0000), which cannot be stored."
    body = orjson.dumps({"error": {"code": "request.nul_character", "message": message, "details": {}}})
    return [{"type": "http.response.start", "status": 400,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]},
            {"type": "http.response.body", "body": body}]


class RejectNulCharacters:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
            for message in _refusal():
                await send(message)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        if scope.get("path", "").startswith("/v1/") or not (b"json" in content_type or b"urlencoded" in content_type):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = False
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body"))
            if not more or size > MAX_CHECKED_BODY:
                break  # past the cap the rest streams through unchecked; the app's own limits apply
        body = b"".join(chunks)
        if b"\\u0000" in body or b"\x00" in body or (b"urlencoded" in content_type and b"%00" in body):
            for reply in _refusal():
                await send(reply)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)
