"""``/api/channels``: connect an official account or a WeCom corp for callbacks (and sending)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from siyu.api.auth import require, runtime_of
from siyu.callbacks.setup import KINDS, channel_id, connected, patch_for
from siyu.db.engine import read, write
from siyu.workspaces import settings as workspace_settings
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/channels", tags=["callbacks"])
Admin = Annotated[Principal, Depends(require(Permission.WORKSPACE_ADMIN))]


class ChannelIn(BaseModel):
    kind: str = Field(description="wechat-oa | wecom")
    app_id: str | None = Field(default=None, description="The official account's AppID (wechat-oa)")
    corp_id: str | None = Field(default=None, description="The WeCom CorpID (wecom)")
    token: str
    aes_key: str | None = Field(default=None, description="The EncodingAESKey (43 characters)")
    secret: str | None = Field(default=None, description="AppSecret / the app's Secret, to send as well")


def connect(rt: Any, workspace_id: int, body: ChannelIn) -> dict[str, Any]:
    """Shared by the API and the CLI: merge, validate like every settings change, store."""
    account = body.app_id if body.kind == "wechat-oa" else body.corp_id
    patch = patch_for(body.kind, account_id=account or "", token=body.token, aes_key=body.aes_key,
                      secret=body.secret)
    with write(rt.engine) as conn:
        workspace = workspace_store.workspace_for_update(conn, workspace_id)
        merged = workspace_settings.merge_patch(workspace.settings or {}, patch)
        workspace_settings.validate(merged, workspace.timezone)
        workspace_store.update_workspace_settings(conn, workspace_id, merged)
    return {"channel_id": channel_id(body.kind, str(account)),
            "callback_path": f"/callbacks/{KINDS[body.kind].path}/{workspace_id}"}


@router.post("", status_code=201, summary="Connect an official account or a WeCom corp; answers the callback path")
def add_channel(request: Request, caller: Admin, body: ChannelIn) -> dict[str, Any]:
    return connect(runtime_of(request), caller.workspace_id, body)


@router.get("", summary="Connected inbound channels and their callback paths (no secrets)")
def list_channels(request: Request, caller: Admin) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
    return connected(workspace.settings, caller.workspace_id)
