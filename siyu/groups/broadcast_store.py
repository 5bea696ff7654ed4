"""SQL for broadcasts to groups and their WeCom tasks (the outbox of group sends)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text, update

from siyu.db.dialect import upsert
from siyu.db.tables import group_broadcast_tasks, group_broadcasts
from siyu.groups.models import TaskStatus

tasks_t = group_broadcast_tasks
COUNTED = (TaskStatus.QUEUED.value, TaskStatus.SENDING.value, TaskStatus.SENT.value, TaskStatus.UNCERTAIN.value)


def lock_broadcasts(conn: Connection, workspace_id: int) -> None:
    """Serialise broadcast creation per workspace, so two at once cannot both find a group under its
    limit and together push it over. PostgreSQL: an advisory lock for the transaction; SQLite's write
    transaction (BEGIN IMMEDIATE) has the database to itself already."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7301, :workspace_id)"), {"workspace_id": workspace_id})


def find_broadcast(conn: Connection, workspace_id: int, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(group_broadcasts).where(group_broadcasts.c.workspace_id == workspace_id,
                                                      group_broadcasts.c.idempotency_key == key)).one_or_none()
    return None if row is None else dict(row._mapping)


def insert_broadcast(conn: Connection, workspace_id: int, *, name: str, content: dict[str, Any], key: str,
                     chosen: int, skipped: list[dict[str, Any]], created_by: str | None, now: datetime) -> int | None:
    """The new broadcast's id; None when the key was taken meanwhile."""
    return conn.execute(upsert(conn, group_broadcasts).values(
        workspace_id=workspace_id, name=name, content=content, idempotency_key=key, groups_chosen=chosen,
        groups_skipped=skipped, created_by=created_by, created_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"]).returning(
        group_broadcasts.c.id)).scalar_one_or_none()


def insert_tasks(conn: Connection, workspace_id: int, broadcast_id: int,
                 tasks: list[tuple[str, list[int], list[str]]], now: datetime) -> None:
    if tasks:
        conn.execute(tasks_t.insert(), [
            {"workspace_id": workspace_id, "broadcast_id": broadcast_id, "sender": sender, "group_ids": group_ids,
             "chat_ids": chat_ids, "status": TaskStatus.QUEUED.value, "due_at": now, "created_at": now,
             "updated_at": now} for sender, group_ids, chat_ids in tasks])


def received_since(conn: Connection, workspace_id: int, since: datetime) -> dict[int, int]:
    """How many broadcast tasks each group is in since ``since`` (queued ones count: they will go)."""
    counts: dict[int, int] = {}
    rows = conn.execute(select(tasks_t.c.group_ids).where(
        tasks_t.c.workspace_id == workspace_id, tasks_t.c.created_at >= since, tasks_t.c.status.in_(COUNTED)))
    for row in rows:
        for group_id in row.group_ids or []:
            counts[int(group_id)] = counts.get(int(group_id), 0) + 1
    return counts


def claim_due_tasks(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Queued tasks whose time has come, marked ``sending`` before the call (so a worker that dies
    mid-call leaves them there, to be found uncertain, never sent twice).

    tenancy: cross-workspace (the worker serves every workspace; each row carries its own)
    """
    query = (select(tasks_t).where(tasks_t.c.status == TaskStatus.QUEUED.value, tasks_t.c.due_at <= now)
             .order_by(tasks_t.c.due_at, tasks_t.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    if rows:
        conn.execute(update(tasks_t).where(tasks_t.c.id.in_([r["id"] for r in rows])).values(
            status=TaskStatus.SENDING.value, attempts=tasks_t.c.attempts + 1, updated_at=now))
    return rows


def give_up_lost_tasks(conn: Connection, before: datetime, now: datetime) -> int:
    """Tasks left ``sending`` by a worker that died: WeCom may have created them — uncertain.

    tenancy: cross-workspace (housekeeping over every workspace's rows)
    """
    return conn.execute(update(tasks_t).where(tasks_t.c.status == TaskStatus.SENDING.value,
                                              tasks_t.c.updated_at < before).values(
        status=TaskStatus.UNCERTAIN.value, reason="groups.lost", updated_at=now,
        detail="The worker stopped while WeCom was being called; the task may exist. Not sent again.")).rowcount


def finish_task(conn: Connection, workspace_id: int, task_id: int, now: datetime, **values: Any) -> None:
    values = {k: (v.value if isinstance(v, TaskStatus) else v) for k, v in values.items()}
    conn.execute(update(tasks_t).where(tasks_t.c.workspace_id == workspace_id, tasks_t.c.id == task_id)
                 .values(updated_at=now, **values))


def list_broadcasts(conn: Connection, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(group_broadcasts).where(group_broadcasts.c.workspace_id == workspace_id)
                        .order_by(group_broadcasts.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def get_broadcast(conn: Connection, workspace_id: int, broadcast_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(group_broadcasts).where(group_broadcasts.c.workspace_id == workspace_id,
                                                      group_broadcasts.c.id == broadcast_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def tasks_of(conn: Connection, workspace_id: int, broadcast_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(tasks_t).where(tasks_t.c.workspace_id == workspace_id,
                                              tasks_t.c.broadcast_id == broadcast_id).order_by(tasks_t.c.id))
    return [dict(r._mapping) for r in rows]
