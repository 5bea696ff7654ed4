"""What a WeCom customer-group change event does (registered with :mod:`siyu.callbacks.hooks`).

The events (客户群事件, developer.work.weixin.qq.com path/92130; ``Event`` change_external_chat):
``ChangeType`` create, update (``UpdateDetail``: add_member, del_member, change_owner, change_name,
change_notice; for member changes ``JoinScene`` 0 invited by a member / 3 the group QR,
``QuitScene`` 0 left / 1 removed, ``MemChangeCnt`` and, since 2024, ``MemChangeList`` of the
userids) and dismiss. The handlers run inside the callback's write transaction and never call WeCom:
create and update only mark the group for the worker's sync (:mod:`siyu.groups.sync`); a
``del_member`` that names who left closes those stints at once with the reason only the event
carries; dismiss closes every stint and ends the group (groupchat/get knows a dismissed group no more).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from siyu.callbacks.hooks import InboundEvent, Outcome, register, workspace_of
from siyu.groups import store
from siyu.groups.models import QuitScene
from siyu.groups.sync import record_left

QUIT_SCENES = {"0": QuitScene.LEFT, "1": QuitScene.REMOVED}


def corp_of(conn: Connection, event: InboundEvent) -> str | None:
    """The corp the push came from: ``ToUserName`` (a self-built app's callbacks carry the CorpID
    there), else the workspace's WeCom settings."""
    corp = (event.fields.get("ToUserName") or event.fields.get("AuthCorpId") or "").strip()
    if corp:
        return corp
    settings = workspace_of(conn, event).settings or {}
    configured = ((settings.get("channels") or {}).get("wecom") or {}).get("corpid")
    return str(configured) if configured else None


def changed_userids(fields: Mapping[str, Any]) -> list[str]:
    """``MemChangeList``'s userids, however the XML was flattened: a list, a mapping with ``Item``,
    or text with one id per line / separated by commas or spaces."""
    raw: Any = fields.get("MemChangeList")
    if isinstance(raw, Mapping):
        raw = raw.get("Item")
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, list):
        return []
    return [str(item).strip() for item in raw if str(item).strip()]


def on_change(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    chat_id = (event.fields.get("ChatId") or "").strip()
    corp = corp_of(conn, event)
    if not chat_id or corp is None:
        return
    group_id = store.request_sync(conn, event.workspace_id, corp, chat_id, event.at)
    outcome.notes["groups.sync_requested"] = group_id
    if event.kind != "chat_update" or event.fields.get("UpdateDetail") != "del_member":
        return
    userids = changed_userids(event.fields)
    if not userids:
        return  # an older push without the list: the sync finds who is gone
    scene = QUIT_SCENES.get(str(event.fields.get("QuitScene", "")).strip(), QuitScene.UNKNOWN)
    store.lock_group(conn, event.workspace_id, group_id)
    # The callback logged ``Group Member Left`` for each of them already: only the stints end here.
    store.close_stints(conn, event.workspace_id, group_id, at=event.at, scene=scene, userids=userids)
    store.set_member_count(conn, event.workspace_id, group_id, event.at)


def on_dismiss(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    chat_id = (event.fields.get("ChatId") or "").strip()
    corp = corp_of(conn, event)
    if not chat_id or corp is None:
        return
    group = store.dismiss_group(conn, event.workspace_id, corp, chat_id, event.at)
    ended = store.close_stints(conn, event.workspace_id, group.id, at=event.at, scene=QuitScene.DISMISSED)
    record_left(conn, group, ended, QuitScene.DISMISSED, event.at)
    outcome.notes["groups.dismissed"] = group.id


register("wecom", "chat_create", on_change)
register("wecom", "chat_update", on_change)
register("wecom", "chat_dismiss", on_dismiss)
