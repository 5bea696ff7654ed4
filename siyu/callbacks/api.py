"""The callback endpoints the platforms call, per workspace (see :mod:`siyu.callbacks.receive`):

- ``GET /callbacks/wechat/{workspace_id}`` — an official account's server-URL check (``echostr``);
- ``POST /callbacks/wechat/{workspace_id}`` — its pushes, in plaintext, compatible or safe mode;
  answered with a passive reply (encrypted in safe mode) or ``success``;
- ``GET /callbacks/wecom/{workspace_id}`` — WeCom's URL check (``echostr`` decrypted);
- ``POST /callbacks/wecom/{workspace_id}`` — WeCom's encrypted pushes; answered with an empty body.

Refusals are 4xx JSON with stable codes (:mod:`siyu.callbacks.errors`), never a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from siyu.api.auth import runtime_of
from siyu.callbacks import receive
from siyu.callbacks.fast_path import answer_push, query_of, read_body

router = APIRouter(prefix="/callbacks", tags=["callbacks"])
WorkspaceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _query(request: Request) -> dict[str, str]:
    return query_of(request.scope.get("query_string", b""))


async def _verify(request: Request, workspace_id: int, platform: str) -> Response:
    answer = await run_in_threadpool(receive.verify_url, runtime_of(request).engine, workspace_id, platform,
                                     _query(request))
    return Response(answer, media_type="text/plain")


async def _push(request: Request, workspace_id: int, platform: str) -> Response:
    """Reached only in an app without :class:`~siyu.callbacks.fast_path.CallbackFastPath`, which
    answers these POSTs first, with the same function."""
    body = await read_body(request.receive, platform)
    answer = await answer_push(runtime_of(request), workspace_id, platform, _query(request), body)
    return Response(answer.body, media_type=answer.content_type)


@router.get("/wechat/{workspace_id}", summary="WeChat official account: server-URL verification (echostr)")
async def wechat_verify(request: Request, workspace_id: WorkspaceId) -> Response:
    return await _verify(request, workspace_id, "wechat")


@router.post("/wechat/{workspace_id}", summary="WeChat official account: pushes (messages and events)")
async def wechat_push(request: Request, workspace_id: WorkspaceId) -> Response:
    return await _push(request, workspace_id, "wechat")


@router.get("/wecom/{workspace_id}", summary="WeCom: callback URL verification (decrypted echostr)")
async def wecom_verify(request: Request, workspace_id: WorkspaceId) -> Response:
    return await _verify(request, workspace_id, "wecom")


@router.post("/wecom/{workspace_id}", summary="WeCom: encrypted pushes (customer contact, group chats, messages)")
async def wecom_push(request: Request, workspace_id: WorkspaceId) -> Response:
    return await _push(request, workspace_id, "wecom")
