"""All SQL of broadcasts: the broadcast rows, their fan-out into the outbox, and their figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, and_, desc, func, or_, select, text, update

from siyu.db import driver
from siyu.db.tables import broadcasts, events, messages
from siyu.db.types import to_millis
from siyu.messaging.models import Channel, Purpose, Status


def create(conn: Connection, workspace_id: int, *, name: str, segment_id: int, channel: Channel, purpose: Purpose,
           content: dict[str, Any], send_at: datetime, rate_per_minute: int | None, created_by: str | None,
           now: datetime, goal: dict[str, Any] | None = None, holdout_percent: float = 0.0) -> int:
    return conn.execute(broadcasts.insert().values(
        workspace_id=workspace_id, name=name, segment_id=segment_id, channel=channel.value, purpose=purpose.value,
        content=content, status="scheduled", send_at=send_at, rate_per_minute=rate_per_minute, fanout_after=0,
        queued=0, created_by=created_by, created_at=now, updated_at=now, goal=goal, holdout_percent=holdout_percent,
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
    """Broadcasts whose fan-out should run now. Nothing is locked here: the fan-out takes
    :func:`lock_fan_out` and moves the cursor by compare-and-set (:func:`advance`).

    tenancy: cross-workspace unless ``workspace_id`` is given (the worker serves every workspace)
    """
    query = select(broadcasts).where(broadcasts.c.status.in_(["scheduled", "sending"]),
                                     broadcasts.c.send_at <= now).order_by(broadcasts.c.send_at, broadcasts.c.id)
    if workspace_id is not None:
        query = query.where(broadcasts.c.workspace_id == workspace_id)
    return [dict(r._mapping) for r in conn.execute(query)]


FAN_OUT_LOCK = 7203  # pg_advisory_lock namespace of fan-outs (the person lock of messaging.store is 7202)


def lock_fan_out(conn: Connection, broadcast_id: int) -> bool:
    """On PostgreSQL, make this connection's session the broadcast's only fan-out, or say that
    another worker's is (False). It saves work, nothing more: two fan-outs of one broadcast would
    still not write anyone twice (:func:`advance`). SQLite has one worker process.
    # tenancy: cross-workspace (an advisory lock on the broadcast's own id, which is unique across workspaces)"""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:space, :id)"),
                             {"space": FAN_OUT_LOCK, "id": broadcast_id}).scalar_one())


def unlock_fan_out(conn: Connection, broadcast_id: int) -> None:
    """Release :func:`lock_fan_out`'s lock. # tenancy: cross-workspace (the broadcast's own lock)"""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_unlock(:space, :id)"), {"space": FAN_OUT_LOCK, "id": broadcast_id})


def next_members(conn: Connection, workspace_id: int, segment_id: int, after: int, limit: int) -> list[int]:
    return [pid for pid, in driver.rows(
        conn, "SELECT profile_id FROM segment_members WHERE workspace_id = ? AND segment_id = ? AND profile_id > ? "
        "ORDER BY profile_id LIMIT ?", [workspace_id, segment_id, after, limit])]


# What the fan-out decided for one person: (profile id, status, reason, detail, due at in epoch ms).
Row = tuple[int, str, str | None, str | None, int]
_COLUMNS = ("profile_id, idempotency_key, status, reason, detail, due_at, "
            "workspace_id, channel, purpose, source, payload, attempts, created_at, updated_at")


def queue_many(conn: Connection, broadcast: dict[str, Any], rows: list[Row], now: datetime) -> None:
    """One outbox row per person, keyed ``broadcast:<id>:<profile>`` so that a chunk written again
    adds nothing. The fan-out's hot path, so on the driver: PostgreSQL takes the rows by ``COPY``
    (twice the rows a second of a multi-row INSERT, bench/RESULTS.md), which has no ``ON CONFLICT``
    — in a savepoint, and if any key is there already (a chunk fanned out again after its cursor
    was moved back) the chunk goes through the INSERT that skips them."""
    if not rows:
        return
    source = f"broadcast:{broadcast['id']}"
    shared = (broadcast["workspace_id"], broadcast["channel"], broadcast["purpose"], source,
              orjson.dumps(broadcast["content"]).decode(), 0, to_millis(now), to_millis(now))
    if conn.dialect.name == "postgresql":
        import psycopg

        try:
            with conn.begin_nested():
                _copy(conn, source, shared, rows)
            return
        except psycopg.errors.UniqueViolation:
            pass  # rolled back to the savepoint: the rows again, skipping the keys already there
        driver.execute_many(
            conn, f"INSERT INTO messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS JSONB), ?, ?, ?) "
            "ON CONFLICT (workspace_id, idempotency_key) DO NOTHING",
            [(pid, f"{source}:{pid}", status, reason, detail, due, *shared)
             for pid, status, reason, detail, due in rows])
        return
    # SQLite: one statement over the rows as a JSON array, so that the whole chunk is written in one
    # step of the engine (which runs without Python's GIL: the fan-out decides meanwhile).
    driver.execute_many(
        conn, f"INSERT INTO messages ({_COLUMNS}) SELECT json_extract(value, '$[0]'), "
        "? || ':' || json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
        "json_extract(value, '$[3]'), json_extract(value, '$[4]'), ?, ?, ?, ?, ?, ?, ?, ? FROM json_each(?) "
        "WHERE true ON CONFLICT (workspace_id, idempotency_key) DO NOTHING",
        [(source, *shared, orjson.dumps(rows).decode())])


def _copy(conn: Connection, source: str, shared: tuple[Any, ...], rows: list[Row]) -> None:
    """The rows in COPY's text format, built as one string: the columns a verdict shares (and the
    broadcast's own) are escaped once, not per person."""
    tail = "\t".join(map(_copy_text, shared)) + "\n"
    parts: dict[tuple[str, str | None, str | None], str] = {}
    lines = []
    for pid, status, reason, detail, due in rows:
        part = parts.get((status, reason, detail))
        if part is None:
            part = parts[(status, reason, detail)] = "\t".join(map(_copy_text, (status, reason, detail)))
        lines.append(f"{pid}\t{source}:{pid}\t{part}\t{due}\t{tail}")
    cursor = driver.cursor(conn)
    try:
        with cursor.copy(f"COPY messages ({_COLUMNS}) FROM STDIN") as copy:
            copy.write("".join(lines))
    finally:
        cursor.close()


def _copy_text(value: Any) -> str:
    """A value in COPY's text format (NULL as ``\\N``; backslash, tab and line ends escaped)."""
    if value is None:
        return "\\N"
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def advance(conn: Connection, broadcast: dict[str, Any], *, after: int, queued: int, done: bool,
            now: datetime) -> bool:
    """Move the fan-out's cursor from where ``broadcast`` says it is (``fanout_after``, ``queued``)
    to ``after``; False, and nothing moved, if it is not there any more or the broadcast was
    cancelled or finished meanwhile. In the transaction that writes the chunk's rows: on
    PostgreSQL the row lock this takes makes a concurrent move (another worker, a cancel) wait
    for the commit and then find the cursor gone, so a chunk is written once."""
    values: dict[str, Any] = {"fanout_after": after, "queued": queued, "updated_at": now,
                              "status": "done" if done else "sending"}
    if done:
        values["finished_at"] = now
    return conn.execute(update(broadcasts).where(
        broadcasts.c.workspace_id == broadcast["workspace_id"], broadcasts.c.id == broadcast["id"],
        broadcasts.c.fanout_after == broadcast["fanout_after"], broadcasts.c.queued == broadcast["queued"],
        broadcasts.c.status.in_(["scheduled", "sending"])).values(**values)).rowcount == 1


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


def measured_members(conn: Connection, workspace_id: int, broadcast_id: int,
                     holdout_reason: str) -> list[tuple[int, str, datetime]]:
    """Whom a broadcast's goal is measured on: (person, ``treatment`` | ``holdout``, from when) — those
    it was sent to, from the send, and those kept back as its control group, from the fan-out."""
    rows = conn.execute(select(messages.c.profile_id, messages.c.status, messages.c.sent_at,
                               messages.c.created_at).where(
        messages.c.workspace_id == workspace_id, messages.c.source == f"broadcast:{broadcast_id}",
        or_(messages.c.status == Status.SENT.value,
            and_(messages.c.status == Status.STOPPED.value, messages.c.reason == holdout_reason))))
    return [(pid, "treatment", sent_at or created_at) if status == Status.SENT.value else (pid, "holdout", created_at)
            for pid, status, sent_at, created_at in rows]


def goal_events(conn: Connection, workspace_id: int, name: str, start: datetime,
                end: datetime) -> list[tuple[int, datetime, Any]]:
    """Every ``name`` event of a known person from ``start`` to ``end`` (one range of the name-and-time
    index, however many people were sent to)."""
    rows = conn.execute(select(events.c.profile_id, events.c.timestamp, events.c.properties).where(
        events.c.workspace_id == workspace_id, events.c.name == name, events.c.timestamp >= start,
        events.c.timestamp <= end, events.c.profile_id.is_not(None)))
    return [(pid, at, properties) for pid, at, properties in rows]


def spacing(rate_per_minute: int | None) -> timedelta:
    return timedelta(minutes=1) / rate_per_minute if rate_per_minute else timedelta(0)
