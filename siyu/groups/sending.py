"""Broadcasts to groups: the decision written first (the broadcast and its tasks, in one
transaction), the WeCom calls made by the worker afterwards.

A task is created in WeCom by ``add_msg_template`` with ``chat_type: "group"``. The call is not
idempotent — a second call is a second task the owner would be asked to send — so a task is marked
``sending`` before the call and a call that may have reached WeCom without an answer leaves it
``uncertain``, never retried; only refusals that prove nothing was created (no connection, rate
limits, a stale token) are retried, at most :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.channels.base import ChannelError
from siyu.channels.wecom import payload_problem
from siyu.db.engine import read, write
from siyu.groups import broadcast_store, broadcasts, store
from siyu.groups.errors import GroupConflict, GroupError
from siyu.groups.models import TaskStatus
from siyu.groups.sync import wecom_for
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Workspace

log = logging.getLogger("siyu.groups")
CLAIM = 20
MAX_ATTEMPTS = 5
LOST_AFTER = timedelta(minutes=10)


def broadcast_limit(workspace: Workspace) -> str:
    """WeCom's one receive rule (群发助手 → 设置群发规则) covers customers and groups alike: the
    contact policy's ``settings.messaging.wecom_limit``."""
    limit = ((workspace.settings or {}).get("messaging") or {}).get("wecom_limit", "month")
    return limit if limit in broadcasts.LIMITS else "month"


def create_broadcast(conn: Connection, workspace: Workspace, *, name: str, content: dict[str, Any],
                     group_ids: list[int], key: str, actor: str | None, now: datetime) -> tuple[dict[str, Any], bool]:
    """Write the broadcast and its tasks; the same key again returns the first (and False). A key
    reused with another name, content or groups is refused (``groups.conflict``)."""
    problem = payload_problem(content)
    if problem is not None:
        raise GroupError(f"content.{problem[0]}: {problem[1]}.", code="groups.invalid_content",
                         details={"field": f"content.{problem[0]}"})
    if not group_ids:
        raise GroupError("Choose at least one group.", details={"field": "group_ids"})
    broadcast_store.lock_broadcasts(conn, workspace.id)
    existing = broadcast_store.find_broadcast(conn, workspace.id, key)
    if existing is not None:
        return _same_or_conflict(conn, workspace.id, existing, name, content, group_ids), False
    start, allowed = broadcasts.period(broadcast_limit(workspace), now)
    found = store.groups_by_id(conn, workspace.id, sorted(set(group_ids)))
    missing = sorted(set(group_ids) - {group.id for group in found})
    if missing:
        raise GroupError(f"No such group: {', '.join(map(str, missing[:10]))}.", code="groups.not_found",
                         status=404, details={"group_ids": missing[:100]})
    targets = [broadcasts.Target(g.id, g.chat_id, g.owner_userid, g.status) for g in found]
    plan = broadcasts.plan(targets, broadcast_store.received_since(conn, workspace.id, start), allowed)
    broadcast_id = broadcast_store.insert_broadcast(conn, workspace.id, name=name, content=content, key=key,
                                                    chosen=plan.chosen, skipped=plan.skipped, created_by=actor,
                                                    now=now)
    assert broadcast_id is not None  # the lock above makes the key ours
    broadcast_store.insert_tasks(conn, workspace.id, broadcast_id, [
        (sender, [t.group_id for t in groups], [t.chat_id for t in groups]) for sender, groups in plan.tasks], now)
    return describe(conn, workspace.id, broadcast_id), True


def _same_or_conflict(conn: Connection, workspace_id: int, existing: dict[str, Any], name: str,
                      content: dict[str, Any], group_ids: list[int]) -> dict[str, Any]:
    found = describe(conn, workspace_id, existing["id"])
    asked = sorted(set(group_ids))
    before = sorted({g for task in found["tasks"] for g in task["group_ids"]}
                    | {int(s["group_id"]) for s in found["groups_skipped"]})
    if existing["name"] != name or existing["content"] != content or before != asked:
        raise GroupConflict("This idempotency key was used for another broadcast; use a new key.",
                            details={"broadcast_id": existing["id"]})
    return found


def describe(conn: Connection, workspace_id: int, broadcast_id: int) -> dict[str, Any]:
    found = broadcast_store.get_broadcast(conn, workspace_id, broadcast_id)
    if found is None:
        raise GroupError(f"No group broadcast {broadcast_id}.", code="groups.not_found", status=404)
    tasks = broadcast_store.tasks_of(conn, workspace_id, broadcast_id)
    return {**found, "tasks": [{k: v for k, v in task.items() if k not in ("workspace_id",)} for task in tasks]}


def send_due(rt: Runtime) -> dict[str, int]:
    """Create due tasks in WeCom; counts by outcome."""
    counts: dict[str, int] = {}
    with write(rt.engine) as conn:
        lost = broadcast_store.give_up_lost_tasks(conn, clock.now() - LOST_AFTER, clock.now())
    if lost:
        counts["uncertain"] = lost
    while True:
        with write(rt.engine) as conn:
            claimed = broadcast_store.claim_due_tasks(conn, clock.now(), CLAIM)
        for task in claimed:
            outcome = _send(rt, task)
            counts[outcome] = counts.get(outcome, 0) + 1
        if len(claimed) < CLAIM:
            return counts


def _send(rt: Runtime, task: dict[str, Any]) -> str:
    workspace_id = task["workspace_id"]
    with read(rt.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
        broadcast = broadcast_store.get_broadcast(conn, workspace_id, task["broadcast_id"])
    assert broadcast is not None
    body = {"chat_type": "group", "sender": task["sender"], "chat_id_list": list(task["chat_ids"]),
            **{key: broadcast["content"][key] for key in ("text", "attachments") if key in broadcast["content"]}}
    try:
        answer = wecom_for(workspace.settings).call("externalcontact/add_msg_template", body,
                                                    lost="the group task may have been created")
    except ChannelError as error:
        now = clock.now()
        if error.retryable and task["attempts"] < MAX_ATTEMPTS:
            status, due = TaskStatus.QUEUED, now + timedelta(seconds=30 * 2 ** task["attempts"])
        else:
            status, due = (TaskStatus.UNCERTAIN if error.code.endswith(".uncertain") else TaskStatus.FAILED), now
        with write(rt.engine) as conn:
            broadcast_store.finish_task(conn, workspace_id, task["id"], now, status=status, due_at=due,
                                        reason=error.code, detail=error.detail[:500])
        log.warning("group broadcast task %s: %s", task["id"], error.code)
        return "retried" if status is TaskStatus.QUEUED else status.value
    now = clock.now()
    with write(rt.engine) as conn:
        broadcast_store.finish_task(conn, workspace_id, task["id"], now, status=TaskStatus.SENT, sent_at=now,
                                    msgid=None if answer.get("msgid") is None else str(answer["msgid"]),
                                    fail_list=answer.get("fail_list") or [], reason=None, detail=None)
    return "sent"
