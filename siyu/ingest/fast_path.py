"""Tracking calls answered before the rest of the application sees them.

``/v1/batch`` is the busiest route siyu has: SDKs send a request every few seconds per device or
server, each with up to hundreds of events. Through the full stack a batch of 100 paid ~25 µs an
event for the way in and out — the middleware layers, the route scan, the request object, the
response class — as much as validating, claiming and queueing its events (py-spy on
``bench/bench_ingest.py``). This ASGI middleware, in front of the application (as
:mod:`siyu.offers.fast_path` is for claims), runs the route's own code,
:func:`siyu.ingest.api.accept`, with the same refusals from :func:`siyu.ingest.api.refusal`, so
the two cannot drift apart; ``tests/ingest/test_fast_path.py`` holds them to the same answers. A
body larger than Segment's limits allow, or one that ends early, is handed to the route unchanged
(replayed), which answers as it always has.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from siyu.errors import SiyuError
from siyu.ingest.spec import MAX_BATCH_BYTES, MESSAGE_TYPES

log = logging.getLogger("siyu.ingest")

_TYPES: dict[str, str | None] = {"/v1/batch": None, **{f"/v1/{kind}": kind for kind in MESSAGE_TYPES}}
MAX_BODY = MAX_BATCH_BYTES + 1  # more than any acceptable body, gzipped or not: the route refuses it
_SUCCESS = orjson.dumps({"success": True})


class IngestFastPath:
    def __init__(self, app: Any, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path") if scope["type"] == "http" and scope["method"] == "POST" else None
        if path not in _TYPES or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        body, ended = await _read(receive)
        if not ended or len(body) > MAX_BODY:
            await self.app(scope, _replay(body, receive, ended), send)
            return
        from siyu.ingest.api import accept, refusal

        headers = {name.lower(): value for name, value in scope.get("headers") or []}
        encoding = headers.get(b"content-encoding")
        try:
            await accept(self.runtime, body, encoding.decode("latin-1") if encoding is not None else None,
                         headers.get(b"authorization", b"").decode("latin-1"), _TYPES[path])
        except SiyuError as error:
            status, extra, payload = refusal(error)
            await _send(send, status, orjson.dumps(payload), extra)
            return
        except Exception:  # noqa: BLE001 - logged; answered as the application's handler of the unexpected does
            log.exception("ingest request failed")
            await _send(send, 500, orjson.dumps({"error": {
                "code": "internal", "details": {},
                "message": "An internal error occurred; it has been logged. This is a bug in siyu."}}), None)
            return
        await _send(send, 200, _SUCCESS, None)


async def _read(receive: Any) -> tuple[bytes, bool]:
    """The body, and whether it ended (False when reading stopped past :data:`MAX_BODY`, or at a disconnect)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if not message.get("more_body"):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, receive: Any, ended: bool) -> Any:
    """A ``receive`` giving the app what was read already, then the rest of the stream."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not ended}
        return await receive()

    return replayed


async def _send(send: Any, status: int, body: bytes, extra: dict[str, str] | None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
