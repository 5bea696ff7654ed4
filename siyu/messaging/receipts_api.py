"""Receipt callbacks from the providers, per workspace (formats in :mod:`receipt_formats`):

- ``POST /callbacks/sms/aliyun/{workspace_id}/{report_token}`` — Aliyun's SMS status reports.

WeChat's template-message results (``TEMPLATESENDJOBFINISH``) arrive at the official account's one
callback URL, ``/callbacks/wechat/{workspace_id}``, served by :mod:`siyu.callbacks.api`; its handler
(:mod:`siyu.callbacks.template_results`) applies them through :mod:`siyu.messaging.receipts`.

Each is authenticated by a secret in the workspace's settings (``channels.sms.report_token``); a
workspace without it, or unknown, is ``404 receipts.not_configured`` — the same answer, so the
address tells nothing about which workspaces exist.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import read, write
from siyu.messaging import receipts
from siyu.messaging.receipt_formats import MAX_BODY, ReceiptError, sms_reports
from siyu.workspaces import store as workspace_store
from siyu.workspaces.errors import WorkspaceNotFound

router = APIRouter(prefix="/callbacks", tags=["callbacks"])
WorkspaceId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _secret(request: Request, workspace_id: int, section: str, key: str) -> str:
    try:
        with read(runtime_of(request).engine) as conn:
            workspace = workspace_store.get_workspace(conn, workspace_id)
    except WorkspaceNotFound:
        workspace = None
    config = (((workspace.settings or {}).get("channels") or {}).get(section) if workspace else None) or {}
    secret = config.get(key) if isinstance(config, dict) else None
    if not isinstance(secret, str) or not secret:
        raise ReceiptError(f"No receipts are set up at this address (settings.channels.{section}.{key}).",
                           code="receipts.not_configured", status=404)
    return secret


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused once past ``limit`` bytes without reading the rest."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ReceiptError("The callback body is too large.", code="receipts.too_large", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/sms/aliyun/{workspace_id}/{report_token}", summary="Aliyun SMS status reports (SmsReport)")
async def aliyun_sms_reports(request: Request, workspace_id: WorkspaceId,
                             report_token: Annotated[str, Path(max_length=200)]) -> Any:
    secret = await run_in_threadpool(_secret, request, workspace_id, "sms", "report_token")
    if not hmac.compare_digest(secret.encode(), report_token.encode()):
        raise ReceiptError("No receipts are set up at this address (settings.channels.sms.report_token).",
                           code="receipts.not_configured", status=404)
    reports = sms_reports(await _body(request, MAX_BODY * 16))

    def apply() -> None:
        with write(runtime_of(request).engine) as conn:
            for report in reports:
                receipts.apply_sms_report(conn, workspace_id, report, clock.now())

    await run_in_threadpool(apply)
    return JSONResponse({"code": 0, "msg": "接收成功"})
