"""The platforms' pushes answered before the rest of the application sees them.

A busy official account pushes thousands of times a second, and each push waits for its answer. In
the full stack a push paid more for the way in than for its work: the console's session middleware,
the NUL check, FastAPI's exception layers (each wrapping ``send``), a scan of several hundred routes,
the request object, the dependency solver and the response class — about 330 µs of CPU of a 630 µs
push (measured with ``bench/bench_callbacks.py``). This ASGI middleware, outermost in the app,
takes ``POST /callbacks/{wechat|wecom}/{workspace_id}`` itself and hands everything else on.

It answers exactly as the routes in :mod:`siyu.callbacks.api` do (they remain, documented in the
OpenAPI schema, for an app assembled without this layer): the same checks, the same group writer,
the same error envelope. ``tests/callbacks/test_fast_path.py`` holds the two to the same answers.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson

from siyu.callbacks import receive
from siyu.callbacks.errors import refused
from siyu.callbacks.writer import writer_for
from siyu.errors import SiyuError
from siyu.messaging.receipt_formats import MAX_BODY

_PATH = re.compile(r"/callbacks/(wechat|wecom)/([1-9][0-9]{0,9})")
MAX_QUERY_VALUE = 2048
MAX_WORKSPACE_ID = 2**31 - 1


def query_of(query_string: bytes) -> dict[str, str]:
    """The query parameters, the last of a repeated name winning (as Starlette's ``QueryParams``), each
    cut to 2 KiB: signatures, timestamps and nonces are short, and nothing longer is read."""
    return {key: value[:MAX_QUERY_VALUE]
            for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}


async def answer_push(runtime: Any, workspace_id: int, platform: str, query: dict[str, str],
                      body: bytes) -> receive.Answer:
    """One push: checked and read on the event loop (cheap, and refused before anything is written),
    stored by the callback writer's thread with its group, answered on the loop — no thread-pool hop."""
    opened = receive.open_callback(runtime, workspace_id, platform, query, body)
    try:
        stored = await asyncio.wrap_future(writer_for(runtime).submit(opened))
    except SiyuError:
        raise
    except Exception:  # noqa: BLE001 - logged by the writer; nothing of this push was kept
        raise refused(platform, "unavailable", "The push could not be stored now; it will be retried.") from None
    return receive.answer_of(opened, stored)


async def read_body(receive_message: Any, platform: str) -> bytes:
    """The body, refused once past 64 KiB without reading the rest."""
    chunks, size = [], 0
    while True:
        message = await receive_message()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise refused(platform, "too_large", "The callback body is too large.")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


class CallbackFastPath:
    def __init__(self, app: Any, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive_message: Any, send: Any) -> None:
        matched = _PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        query_string = scope.get("query_string", b"") if matched else b""
        if matched is None or int(matched[2]) > MAX_WORKSPACE_ID or b"%00" in query_string or b"\x00" in query_string:
            await self.app(scope, receive_message, send)  # the routes (and the NUL check) answer those
            return
        platform = matched[1]
        try:
            body = await read_body(receive_message, platform)
            answer = await answer_push(self.runtime, int(matched[2]), platform, query_of(query_string), body)
        except SiyuError as error:
            payload = orjson.dumps({"error": {"code": error.code, "message": error.message,
                                              "details": error.details or {}}})
            await _send(send, error.status, b"application/json", payload)
            return
        charset = "; charset=utf-8" if answer.content_type.startswith("text/") else ""  # as Starlette's Response
        await _send(send, 200, (answer.content_type + charset).encode(), answer.body.encode())


async def _send(send: Any, status: int, content_type: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
