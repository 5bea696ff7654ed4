"""All SQL of broadcasts: the broadcast rows, their fan-out into the outbox, and their figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, desc, func, select, update

from siyu.db import driver
from siyu.db.tables import broadcasts, messages, segment_members
from siyu.db.types import to_millis
from siyu.messaging.models import Channel, Purpose, Status


def create(conn: Connection, workspace_id: int, *, name: str, segment_id: int, channel: Channel, purpose: Purpose,
           content: dict[str, Any], send_at: datetime, rate_per_minute: int | None, created_by: str | None,
           now: datetime) -> int:
    return conn.execute(broadcasts.insert().values(
        workspace_id=workspace_id, name=name, segment_id=segment_id, channel=channel.value, purpose=purpose.value,
        content=content, status="scheduled", send_at=send_at, rate_per_minute=rate_per_minute, fanout_after=0,
        queued=0, created_by=created_by, created_at=now, updated_at=now,
    ).returning(broadcasts.c.id)).scalar_one()


def get(conn: Connection, workspace_id: int, broadcast_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(broadcasts).where(broadcasts.c.workspace_id == workspace_id,
                                                broadcasts.c.id == broadcast_id)).first()
    return None if row is None else dict(row._mapping)


def listing(conn: Connection, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(broadcasts).where(broadcasts.c.workspace_id == workspace_id)
                        .order_by(desc(broadcasts.c.id)).limit(limit))
    return [dict(r._mapping) for r in rows]


def due(conn: Connection, now: datetime, workspace_id: int | None = None) -> list[dict[str, Any]]:
    """Broadcasts whose fan-out should run now (locked against other workers on PostgreSQL).

    tenancy: cross-workspace unless ``workspace_id`` is given (the worker serves every workspace)
    """
    query = select(broadcasts).where(broadcasts.c.status.in_(["scheduled", "sending"]),
                                     broadcasts.c.send_at <= now).order_by(broadcasts.c.send_at, broadcasts.c.id)
    if workspace_id is not None:
        query = query.where(broadcasts.c.workspace_id == workspace_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [dict(r._mapping) for r in conn.execute(query)]


def next_members(conn: Connection, workspace_id: int, segment_id: int, after: int, limit: int) -> list[int]:
    return list(conn.execute(select(segment_members.c.profile_id).where(
        segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id,
        segment_members.c.profile_id > after).order_by(segment_members.c.profile_id).limit(limit)).scalars())


class Row(NamedTuple):
    """What the fan-out decided for one person: queued (when), or stopped (why)."""

    status: Status
    due_at: datetime
    reason: str | None = None
    detail: str | None = None


def queue_many(conn: Connection, broadcast: dict[str, Any], profile_ids: list[int], rows: list[Row],
               now: datetime) -> None:
    """One outbox row per person, keyed so a repeated chunk adds nothing (driver-level: this is the
    fan-out's hot path)."""
    payload = orjson.dumps(broadcast["content"]).decode()
    json_mark = "CAST(? AS JSONB)" if conn.dialect.name == "postgresql" else "?"
    moment = to_millis(now)
    source = f"broadcast:{broadcast['id']}"
    driver.execute_many(
        conn, "INSERT INTO messages (workspace_id, profile_id, channel, purpose, source, idempotency_key, status, "
        f"reason, detail, payload, due_at, attempts, created_at, updated_at) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {json_mark}, ?, 0, ?, ?) "
        "ON CONFLICT (workspace_id, idempotency_key) DO NOTHING",
        [(broadcast["workspace_id"], pid, broadcast["channel"], broadcast["purpose"], source, f"{source}:{pid}",
          row.status.value, row.reason, row.detail, payload, to_millis(row.due_at), moment, moment)
         for pid, row in zip(profile_ids, rows, strict=True)])


def advance(conn: Connection, broadcast: dict[str, Any], *, after: int, queued: int, done: bool,
            now: datetime) -> None:
    values: dict[str, Any] = {"fanout_after": after, "queued": queued, "updated_at": now,
                              "status": "done" if done else "sending"}
    if done:
        values["finished_at"] = now
    conn.execute(update(broadcasts).where(broadcasts.c.workspace_id == broadcast["workspace_id"],
                                          broadcasts.c.id == broadcast["id"]).values(**values))


def cancel(conn: Connection, workspace_id: int, broadcast_id: int, now: datetime) -> int:
    """Cancel, and stop its messages that haven't been claimed yet; returns how many were stopped."""
    conn.execute(update(broadcasts).where(broadcasts.c.workspace_id == workspace_id, broadcasts.c.id == broadcast_id)
                 .values(status="cancelled", updated_at=now, finished_at=now))
    return conn.execute(update(messages).where(
        messages.c.workspace_id == workspace_id, messages.c.source == f"broadcast:{broadcast_id}",
        messages.c.status == Status.QUEUED.value).values(
        status=Status.STOPPED.value, reason="broadcast.cancelled", detail="The broadcast was cancelled.",
        updated_at=now)).rowcount


def figures(conn: Connection, workspace_id: int, broadcast_id: int) -> dict[str, int]:
    """Its messages by status, and stops by reason (``stopped:policy.frequency_cap``)."""
    rows = conn.execute(select(messages.c.status, messages.c.reason, func.count()).where(
        messages.c.workspace_id == workspace_id, messages.c.source == f"broadcast:{broadcast_id}")
        .group_by(messages.c.status, messages.c.reason)).all()
    counts: dict[str, int] = {}
    for status, reason, count in rows:
        counts[status] = counts.get(status, 0) + count
        if status == Status.STOPPED.value and reason:
            counts[f"stopped:{reason}"] = counts.get(f"stopped:{reason}", 0) + count
    return counts


def spacing(rate_per_minute: int | None) -> timedelta:
    return timedelta(minutes=1) / rate_per_minute if rate_per_minute else timedelta(0)
