"""SQL for saved segments, their members, their size history and the Segment Entered / Exited events.

Membership is refreshed set-based: one ``INSERT … SELECT`` adds the people the definition now
selects and one ``DELETE`` removes those it no longer selects, each ``RETURNING`` who moved, so a
refresh of a million-person segment never pulls the whole set into Python. Real time, a few
people at a time, has its own statements in :mod:`siyu.segments.realtime_store` and shares the
bookkeeping here. Both run in the caller's transaction with the events they write: a membership
change and its event are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Connection, case, delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from siyu.db.dialect import upsert
from siyu.db.tables import cursors, events, profiles, segment_members, segment_sizes, segments, tag_rules
from siyu.db.types import to_millis
from siyu.identity.store import lock_identity_graph
from siyu.segments.compile import Context, count_query, members_query
from siyu.segments.errors import SegmentConflict, SegmentNotFound
from siyu.segments.models import Node

ENTERED, EXITED = "Segment Entered", "Segment Exited"
SOURCE = "segments"
_COLUMNS = [segments.c.id, segments.c.name, segments.c.description, segments.c.definition, segments.c.status,
            segments.c.size, segments.c.created_by, segments.c.created_at, segments.c.updated_at,
            segments.c.refreshed_at]


def count(conn: Connection, workspace_id: int, tree: Node, now: datetime) -> int:
    return conn.execute(count_query(tree, Context(workspace_id, now))).scalar_one()


def sample(conn: Connection, workspace_id: int, tree: Node, now: datetime, limit: int = 20) -> list[int]:
    query = members_query(tree, Context(workspace_id, now)).order_by(profiles.c.id.desc()).limit(limit)
    return list(conn.execute(query).scalars())


def create_segment(conn: Connection, workspace_id: int, *, name: str, description: str | None,
                   definition: dict[str, Any], created_by: str | None, now: datetime) -> dict[str, Any]:
    try:
        with conn.begin_nested():
            segment_id = conn.execute(insert(segments).values(
                workspace_id=workspace_id, name=name, description=description, definition=definition,
                status="active", size=0, created_by=created_by, created_at=now, updated_at=now)
                .returning(segments.c.id)).scalar_one()
    except IntegrityError:
        raise SegmentConflict(f"A segment named {name!r} already exists; choose another name or change that one.",
                              details={"name": name}) from None
    return get_segment(conn, workspace_id, segment_id)


def get_segment(conn: Connection, workspace_id: int, segment_id: int) -> dict[str, Any]:
    row = conn.execute(select(*_COLUMNS).where(segments.c.workspace_id == workspace_id,
                                               segments.c.id == segment_id)).one_or_none()
    if row is None:
        raise SegmentNotFound(f"No segment {segment_id} in this workspace.", details={"segment_id": segment_id})
    return dict(row._mapping)


def list_segments(conn: Connection, workspace_id: int, *, include_archived: bool = False) -> list[dict[str, Any]]:
    query = select(*_COLUMNS).where(segments.c.workspace_id == workspace_id).order_by(segments.c.id)
    if not include_archived:
        query = query.where(segments.c.status == "active")
    return [dict(r._mapping) for r in conn.execute(query)]


def active_definitions(conn: Connection, workspace_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    rows = conn.execute(select(segments.c.id, segments.c.name, segments.c.definition).where(
        segments.c.workspace_id == workspace_id, segments.c.status == "active").order_by(segments.c.id))
    return [(r.id, r.name, r.definition) for r in rows]


def update_segment(conn: Connection, workspace_id: int, segment_id: int, changes: dict[str, Any],
                   now: datetime) -> dict[str, Any]:
    get_segment(conn, workspace_id, segment_id)
    try:
        with conn.begin_nested():
            conn.execute(update(segments).where(segments.c.workspace_id == workspace_id, segments.c.id == segment_id)
                         .values(**changes, updated_at=now))
    except IntegrityError:
        raise SegmentConflict(f"A segment named {changes.get('name')!r} already exists.") from None
    return get_segment(conn, workspace_id, segment_id)


def member_ids(conn: Connection, workspace_id: int, segment_id: int, *, after: int = 0,
               limit: int = 100) -> list[int]:
    return list(conn.execute(select(segment_members.c.profile_id).where(
        segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id,
        segment_members.c.profile_id > after).order_by(segment_members.c.profile_id).limit(limit)).scalars())


def segments_of(conn: Connection, workspace_id: int, profile_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(segments.c.id, segments.c.name, segment_members.c.entered_at)
                        .join(segment_members, segment_members.c.segment_id == segments.c.id)
                        .where(segment_members.c.workspace_id == workspace_id, segments.c.workspace_id == workspace_id,
                               segment_members.c.profile_id == profile_id).order_by(segments.c.name))
    return [dict(r._mapping) for r in rows]


def size_history(conn: Connection, workspace_id: int, segment_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(segment_sizes.c.day, segment_sizes.c.size, segment_sizes.c.entered,
                               segment_sizes.c.exited)
                        .where(segment_sizes.c.workspace_id == workspace_id, segment_sizes.c.segment_id == segment_id)
                        .order_by(segment_sizes.c.day))
    return [dict(r._mapping) for r in rows]


def apply_membership(conn: Connection, workspace_id: int, segment: tuple[int, str], tree: Node, now: datetime,
                     timezone: str) -> tuple[list[int], list[int]]:
    """Bring the stored membership of everyone in line with the definition (saving, changing and the
    scheduled refresh; real time has its own statements, :mod:`siyu.segments.realtime_store`).

    Returns (entered, exited) and writes one event per change plus today's size. The caller holds
    the write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the segment row is locked
    first), so two refreshes of one segment cannot both insert the same entrant.
    """
    segment_id, name = segment
    if conn.dialect.name == "postgresql":
        conn.execute(select(segments.c.id).where(segments.c.workspace_id == workspace_id,
                                                 segments.c.id == segment_id).with_for_update())
    selected = members_query(tree, Context(workspace_id, now)).subquery()
    current = select(segment_members.c.profile_id).where(segment_members.c.workspace_id == workspace_id,
                                                         segment_members.c.segment_id == segment_id)
    entered = list(conn.execute(insert(segment_members).from_select(
        ["workspace_id", "segment_id", "profile_id", "entered_at"],
        select(literal(workspace_id), literal(segment_id), selected.c.id, literal(to_millis(now), BigInteger))
        .where(selected.c.id.not_in(current)))
        .returning(segment_members.c.profile_id)).scalars())
    exited = list(conn.execute(delete(segment_members).where(
        segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id,
        segment_members.c.profile_id.not_in(select(selected.c.id))).returning(segment_members.c.profile_id)).scalars())
    _write_events(conn, workspace_id, [(segment_id, name, entered, exited)], now)
    size = conn.execute(select(func.count()).select_from(segment_members).where(
        segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id)).scalar_one()
    conn.execute(update(segments).where(segments.c.workspace_id == workspace_id, segments.c.id == segment_id)
                 .values(size=size, refreshed_at=now))
    _record_history(conn, workspace_id, {segment_id: (size, len(entered), len(exited))}, now, timezone)
    return entered, exited


def record_moves(conn: Connection, workspace_id: int, moves: Mapping[tuple[int, str], tuple[list[int], list[int]]],
                 now: datetime, timezone: str) -> None:
    """The bookkeeping of people entering and leaving segments a few at a time (real time): one
    Segment Entered / Exited event per move, each size adjusted by its difference — a count over a
    large segment for every event would cost more than the evaluation itself — and today's line of
    each size history, all in four statements whatever the number of segments."""
    moved = {key: value for key, value in moves.items() if value[0] or value[1]}
    if not moved:
        return
    _write_events(conn, workspace_id, [(s_id, name, entered, exited) for (s_id, name), (entered, exited)
                                       in moved.items()], now)
    deltas = {s_id: len(entered) - len(exited) for (s_id, _), (entered, exited) in moved.items()}
    sizes: dict[int, int] = dict(conn.execute(update(segments).where(segments.c.workspace_id == workspace_id,
                                                     segments.c.id.in_(list(deltas)))
                              .values(size=segments.c.size + case(deltas, value=segments.c.id, else_=0))
                              .returning(segments.c.id, segments.c.size)).all())
    _record_history(conn, workspace_id, {s_id: (sizes[s_id], len(entered), len(exited))
                                         for (s_id, _), (entered, exited) in moved.items()}, now, timezone)


def lock_segments(conn: Connection, workspace_id: int, segment_ids: Sequence[int]) -> None:
    """Lock segment rows before changing their members (PostgreSQL; on SQLite the caller's
    ``BEGIN IMMEDIATE`` already excludes other writers).

    Deadlock argument: every transaction that holds more than one segment lock takes them here,
    all at once and in ascending id order (the refresh locks every active segment, real time the
    ones it may change); the others (saving or changing one segment) hold one. So no two
    transactions can each hold a lock the other waits for.
    """
    if conn.dialect.name != "postgresql" or not segment_ids:
        return
    conn.execute(select(segments.c.id).where(segments.c.workspace_id == workspace_id,
                                             segments.c.id.in_(sorted(segment_ids)))
                 .order_by(segments.c.id).with_for_update())


def _write_events(conn: Connection, workspace_id: int, moves: list[tuple[int, str, list[int], list[int]]],
                  now: datetime) -> None:
    """System events for journeys; message ids are deterministic so a replayed change is one event."""
    stamp = to_millis(now)
    rows = [{"workspace_id": workspace_id, "profile_id": pid, "message_id": f"seg-{segment_id}-{kind}-{pid}-{stamp}",
             "type": "track", "name": event, "timestamp": now, "received_at": now, "source": SOURCE,
             "properties": {"segment_id": segment_id, "segment_name": name}}
            for segment_id, name, entered, exited in moves
            for pids, kind, event in ((entered, "in", ENTERED), (exited, "out", EXITED)) for pid in pids]
    if not rows:
        return
    lock_identity_graph(conn, workspace_id)  # appends to the log keep id order (siyu.ingest.store)
    for start in range(0, len(rows), 5_000):
        conn.execute(insert(events), rows[start:start + 5_000])


def _record_history(conn: Connection, workspace_id: int, changes: Mapping[int, tuple[int, int, int]],
                    now: datetime, timezone: str) -> None:
    """Today's (size, entered, exited) per segment, entered and exited adding up over the day."""
    day = now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d")
    statement = upsert(conn, segment_sizes).values([
        {"workspace_id": workspace_id, "segment_id": s_id, "day": day, "size": size, "entered": entered,
         "exited": exited} for s_id, (size, entered, exited) in sorted(changes.items())])
    conn.execute(statement.on_conflict_do_update(
        index_elements=["workspace_id", "segment_id", "day"],
        set_={"size": statement.excluded.size, "entered": segment_sizes.c.entered + statement.excluded.entered,
              "exited": segment_sizes.c.exited + statement.excluded.exited}))


def claim_cursor(conn: Connection, workspace_id: int, name: str, now: datetime, initial: int = 0) -> int:
    """The consumer's position, locked for this transaction (PostgreSQL ``FOR UPDATE``; on SQLite the
    caller's ``BEGIN IMMEDIATE`` already excludes other writers), created at ``initial`` the first time."""
    conn.execute(upsert(conn, cursors).values(workspace_id=workspace_id, name=name, position=initial,
                                              updated_at=now).on_conflict_do_nothing())
    query = select(cursors.c.position).where(cursors.c.workspace_id == workspace_id, cursors.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).scalar_one()


def advance_cursor(conn: Connection, workspace_id: int, name: str, position: int, now: datetime) -> None:
    conn.execute(update(cursors).where(cursors.c.workspace_id == workspace_id, cursors.c.name == name)
                 .values(position=position, updated_at=now))


def workspaces_with_segments(conn: Connection) -> list[int]:
    """Workspaces with an active segment or auto-tag rule: the ones the worker must follow."""
    # tenancy: cross-workspace by design — the worker visits every workspace that has segments
    with_segments = select(segments.c.workspace_id).where(segments.c.status == "active")
    # tenancy: cross-workspace by design — and every workspace with auto-tag rules
    with_rules = select(tag_rules.c.workspace_id).where(tag_rules.c.status == "active")
    return sorted(set(conn.execute(with_segments.union(with_rules)).scalars()))
