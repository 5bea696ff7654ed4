"""What the groups tests share: a fake WeCom with groups, a workspace set up for it, and pushes.

The pushes go straight to :func:`siyu.callbacks.hooks.dispatch` inside a write transaction, exactly
as the callback endpoint calls it after ingesting a push (siyu/callbacks/receive.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from siyu import clock
from siyu.callbacks import hooks
from siyu.channels.fakes.wecom import FakeWeCom
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

CORP, SECRET = "wwgroups0001", "contact-secret"
T0 = 1_790_000_000  # 2026-09-21, a Monday, in WeCom's epoch seconds


def configure(runtime: Runtime, workspace_id: int, fake: FakeWeCom, **messaging: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {
            "channels": {"wecom": {"corpid": CORP, "secret": SECRET, "base_url": fake.url}},
            **({"messaging": messaging} if messaging else {})})


def member(userid: str, join_time: int, *, scene: int = 3, invitor: str | None = None, staff: bool = False,
           unionid: str | None = None, name: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"userid": userid, "type": 1 if staff else 2, "join_time": join_time, "join_scene": scene,
                             "name": name or userid}
    if invitor:
        found["invitor"] = {"userid": invitor}
    if unionid:
        found["unionid"] = unionid
    return found


def push(runtime: Runtime, workspace_id: int, kind: str, chat_id: str, at: datetime | None = None,
         **fields: str) -> hooks.Outcome:
    """A WeCom group-chat change event through the registered handlers (``kind``: chat_create, ...)."""
    change = kind.removeprefix("chat_")
    every = {"ToUserName": CORP, "FromUserName": "sys", "MsgType": "event", "Event": "change_external_chat",
             "ChangeType": change, "ChatId": chat_id, **fields}
    event = hooks.InboundEvent(workspace_id=workspace_id, platform="wecom", kind=kind, fields=every,
                               at=at or clock.now(), profile_id=None, event_name="Group Updated",
                               message_id=f"test:{kind}:{chat_id}:{sorted(fields.items())}")
    with write(runtime.engine) as conn:
        return hooks.dispatch(conn, runtime, event)
