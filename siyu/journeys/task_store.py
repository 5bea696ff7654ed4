"""SQL for staff tasks (SOP): whom to contact, about what, by when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import staff_tasks
from siyu.journeys.models import TaskStatus


def create_task(conn: Connection, workspace_id: int, *, profile_id: int, title: str, note: str | None,
                due_at: datetime | None, source: str, source_key: str, now: datetime) -> int:
    """A new open task, once per ``source_key``; returns its id."""
    conn.execute(upsert(conn, staff_tasks).values(
        workspace_id=workspace_id, profile_id=profile_id, title=title, note=note, due_at=due_at,
        status=TaskStatus.OPEN.value, source=source, source_key=source_key, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "source_key"]))
    return conn.execute(select(staff_tasks.c.id).where(staff_tasks.c.workspace_id == workspace_id,
                                                       staff_tasks.c.source_key == source_key)).scalar_one()


def list_tasks(conn: Connection, workspace_id: int, *, profile_id: int | None = None, status: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    query = select(staff_tasks).where(staff_tasks.c.workspace_id == workspace_id)
    if profile_id is not None:
        query = query.where(staff_tasks.c.profile_id == profile_id)
    if status is not None:
        query = query.where(staff_tasks.c.status == status)
    return [dict(r._mapping) for r in conn.execute(query.order_by(staff_tasks.c.id).limit(limit))]


def fold_tasks(conn: Connection, workspace_id: int, from_id: int, into_id: int, now: datetime) -> None:
    """A profile merge: the merged-away profile's tasks (open or done) are the survivor's; their keys
    name the journey step, not the person, so nothing collides."""
    conn.execute(update(staff_tasks).where(staff_tasks.c.workspace_id == workspace_id,
                                           staff_tasks.c.profile_id == from_id).values(
        profile_id=into_id, updated_at=now))
