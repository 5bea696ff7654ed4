"""The Segment-compatible tracking API: ``/v1/track``, ``identify``, ``alias``, ``group``, ``page``,
``screen`` and ``batch`` (segment.com/docs/connections/sources/catalog/libraries/server/http-api/).

Bodies are read and parsed here by hand (orjson), not by FastAPI's models: this is the hot path,
and Segment's wire format has rules (write key in basic auth or in the body, gzip, byte limits)
that a model can't express. The schemas are still declared for ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.models import HTTPBase
from fastapi.responses import JSONResponse
from fastapi.security.base import SecurityBase

from siyu import clock
from siyu.api.auth import basic_auth_user, runtime_of, workspace_for_write_key
from siyu.errors import SiyuError
from siyu.ingest.http import decode_body, messages_of, parse_json
from siyu.ingest.spec import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MESSAGE_TYPES
from siyu.ingest.writer import writer_for
from siyu.runtime import Runtime


class _WriteKeyScheme(SecurityBase):
    """Declares the write key in ``/openapi.json`` (``components.securitySchemes``). The key itself
    is read in :func:`_handle`, from basic auth or the body, so this does nothing per request."""

    def __init__(self) -> None:
        self.model = HTTPBase(scheme="basic", description=(
            "The write key as the HTTP basic-auth user with an empty password, as Segment and RudderStack "
            "SDKs send it; a `writeKey` field in the body is accepted too."))
        self.scheme_name = "writeKey"

    async def __call__(self) -> None:
        return None


router = APIRouter(prefix="/v1", tags=["ingest"], dependencies=[Depends(_WriteKeyScheme())])

_COMMON = {
    "userId": {"type": "string"}, "anonymousId": {"type": "string"}, "messageId": {"type": "string"},
    "timestamp": {"type": "string", "format": "date-time"}, "sentAt": {"type": "string", "format": "date-time"},
    "context": {"type": "object"}, "integrations": {"type": "object"}, "writeKey": {"type": "string"},
}
_SPECIFIC: dict[str, dict[str, Any]] = {
    "track": {"event": {"type": "string", "maxLength": 200}, "properties": {"type": "object"}},
    "identify": {"traits": {"type": "object"}},
    "alias": {"previousId": {"type": "string"}},
    "group": {"groupId": {"type": "string"}, "traits": {"type": "object"}},
    "page": {"name": {"type": "string"}, "category": {"type": "string"}, "properties": {"type": "object"}},
    "screen": {"name": {"type": "string"}, "category": {"type": "string"}, "properties": {"type": "object"}},
}
_REQUIRED = {"track": ["event"], "alias": ["previousId", "userId"], "group": ["groupId"]}


def _schema(kind: str) -> dict[str, Any]:
    return {"type": "object", "properties": {**_COMMON, **_SPECIFIC[kind]}, "required": _REQUIRED.get(kind, [])}


def _openapi(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {"200": {"description": "Stored (acknowledged only after commit)",
                              "content": {"application/json": {"schema": {
                                  "type": "object", "properties": {"success": {"type": "boolean"}}}}}},
                      "400": {"description": "Invalid or oversize message; nothing stored"},
                      "401": {"description": "Missing, unknown or revoked write key"},
                      "503": {"description": "The database is unavailable; retry after Retry-After seconds"}},
    }


async def _handle(request: Request, type_: str | None) -> JSONResponse:
    try:
        await accept(runtime_of(request), await request.body(), request.headers.get("content-encoding"),
                     request.headers.get("authorization", ""), type_)
    except SiyuError as error:
        status, headers, body = refusal(error)
        return JSONResponse(body, status_code=status, headers=headers)
    return JSONResponse({"success": True})


async def accept(runtime: Runtime, raw: bytes, content_encoding: str | None, authorization: str,
                 type_: str | None) -> None:
    """Validate a request's messages and hand them to the writer; returns once they are committed.

    Request-free, so that the route and :mod:`siyu.ingest.fast_path` run the same code and give the
    same answers; raises :class:`SiyuError` for every refusal."""
    limit = MAX_MESSAGE_BYTES if type_ is not None else MAX_BATCH_BYTES
    received_at = clock.now()
    body = decode_body(raw, content_encoding, limit)
    payload = parse_json(body)
    key = basic_auth_user(authorization) or (
        payload.get("writeKey") if isinstance(payload.get("writeKey"), str) else None)
    workspace_id = workspace_for_write_key(runtime, key)
    writer = writer_for(runtime)
    rules, region = writer.workspace_rules(workspace_id)
    messages, identifiers = messages_of(payload, type_=type_, body_size=len(body), received_at=received_at,
                                        rules=rules, region=region)
    await writer.submit(workspace_id, messages, identifiers)


def refusal(error: SiyuError) -> tuple[int, dict[str, str] | None, dict[str, Any]]:
    """Status, headers and body of a refusal: siyu's error envelope, plus Segment's top-level ``code``
    and ``message``.

    Both SDKs read ``code`` and ``message`` at the top level of an error response. Without them the
    RudderStack SDK fails with a KeyError instead of its APIError, so it retries a 400 or 401 with
    exponential backoff (10 retries by default) while the events queued behind it wait.
    """
    headers = {"WWW-Authenticate": 'Basic realm="siyu"'} if error.status == 401 else None
    if error.status == 503:
        headers = {"Retry-After": "1"}
    body = {"error": {"code": error.code, "message": error.message, "details": error.details},
            "code": error.code, "message": error.message}
    return error.status, headers, body


def _single(kind: str) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        return await _handle(request, kind)

    endpoint.__name__ = f"ingest_{kind}"
    router.add_api_route(f"/{kind}", endpoint, methods=["POST"], summary=f"Segment {kind} call",
                         openapi_extra=_openapi(_schema(kind)), response_model=None)


for _kind in MESSAGE_TYPES:
    _single(_kind)


@router.post("/batch", summary="Segment batch call (up to 500 KB, 32 KB per message; all-or-nothing)",
             openapi_extra=_openapi({"type": "object", "required": ["batch"], "properties": {
                 "batch": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["type"],
                                                                     "properties": {"type": {"enum": list(
                                                                         MESSAGE_TYPES)}}}},
                 "context": {"type": "object"}, "integrations": {"type": "object"},
                 "sentAt": {"type": "string"}, "writeKey": {"type": "string"}}}),
             response_model=None)
async def ingest_batch(request: Request) -> JSONResponse:
    return await _handle(request, None)
