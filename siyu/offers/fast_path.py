"""Claims answered before the rest of the application sees them.

A flash sale is thousands of ``POST /api/offers/{id}/claims`` a second, each tiny. Through the full
stack a claim paid more for the way in than for the claim: the middleware layers, a scan of several
hundred routes, the dependency solver, the key's authentication in a thread-pool hop, the response
class — over half of the server's CPU per claim (py-spy on ``bench/bench_offers.py``). This ASGI
middleware, outermost in the app (as :mod:`siyu.callbacks.fast_path` is for the platforms' pushes),
takes the ordinary claim itself: a JSON body, a secret key allowed to act on people. Everything
else — no key or a bad one, a body that does not parse or validate, a NUL anywhere — it hands to the
route unchanged (the body replayed), so every refusal and error comes from one place, the route in
:mod:`siyu.offers.api`, and ``tests/offers/test_fast_path.py`` holds the two to the same answers.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
from pydantic import ValidationError

from siyu.api.auth import secret_key_principal
from siyu.errors import SiyuError
from siyu.offers.writer import ClaimRequest, writer_for
from siyu.workspaces.models import Permission

_PATH = re.compile(r"/api/offers/([1-9][0-9]{0,17})/claims")
MAX_BODY = 16 * 1024  # a claim is a few hundred bytes; anything larger goes the long way


class ClaimFastPath:
    def __init__(self, app: Any, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        matched = (_PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST"
                   else None)
        token = _bearer(scope) if matched else None
        if matched is None or token is None or not _json(scope) or scope.get("query_string"):
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive)
        request = self._request(int(matched[1]), token, body) if complete else None
        if request is None:
            await self.app(scope, _replay(body, receive, complete), send)
            return
        try:
            answer = await asyncio.wrap_future(writer_for(self.runtime).submit(request))
        except Exception:  # noqa: BLE001 - the writer logged it; answered as the route's unexpected error is
            await _send(send, 500, {"error": {"code": "internal", "details": {},
                                              "message": "An internal error occurred; it has been logged. "
                                                         "This is a bug in siyu."}})
            return
        if isinstance(answer, SiyuError):
            await _send(send, answer.status, {"error": {"code": answer.code, "message": answer.message,
                                                        "details": answer.details or {}}})
            return
        await _send(send, 201, answer)

    def _request(self, offer_id: int, token: str, body: bytes) -> ClaimRequest | None:
        """The claim to make, or None when the route must answer (any refusal or error)."""
        from siyu.offers.api import ClaimIn

        if b"\x00" in body or b"\\u0000" in body:
            return None
        try:
            caller = secret_key_principal(self.runtime, token)
            parsed = ClaimIn.model_validate_json(body)
        except (SiyuError, ValidationError, ValueError):
            return None
        if not caller.can(Permission.PROFILES_WRITE):
            return None
        return ClaimRequest(caller.workspace_id, offer_id, parsed.profile_id, parsed.idempotency_key,
                            channel=parsed.channel, campaign_id=parsed.campaign_id, delivery=parsed.delivery,
                            amount_fen=parsed.amount_fen)


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers") or []}


def _bearer(scope: dict[str, Any]) -> str | None:
    value = _headers(scope).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _json(scope: dict[str, Any]) -> bool:
    return _headers(scope).get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json"


async def _read(receive: Any) -> tuple[bytes, bool]:
    """The body, and whether it is all there (False past :data:`MAX_BODY`, or a disconnect)."""
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


def _replay(body: bytes, receive: Any, complete: bool) -> Any:
    """A ``receive`` giving the app what was read already, then the rest of the stream."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed


async def _send(send: Any, status: int, payload: Any) -> None:
    body = orjson.dumps(payload, option=orjson.OPT_UTC_Z)  # UTC as "Z", as the route's pydantic encoder writes it
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
