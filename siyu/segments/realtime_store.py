"""SQL of real-time evaluation: reading the log past the cursor, and answering many segments for a
few people at once.

The people of a pass are bound as one parameter (a JSON array on SQLite, an array on
PostgreSQL) and every narrowed subquery reads them from it: fifty definitions over two thousand
people then bind one value, not a hundred thousand (measured: binding the ids in every subquery
cost more on PostgreSQL than evaluating them). Statements are written so that SQLite plans them
well without ANALYZE statistics, which a SQLite file usually lacks: see the ``+ 0`` notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, Select, case, delete, literal, or_, select, text, tuple_

from siyu.db.dialect import upsert
from siyu.db.tables import events, profile_merges, profiles, segment_members
from siyu.db.types import to_millis
from siyu.segments.compile import Context, condition, live_profiles
from siyu.segments.facets import LogEntry
from siyu.segments.models import Node
from siyu.segments.store import record_moves


def log_entries_after(conn: Connection, workspace_id: int, position: int, limit: int) -> list[LogEntry]:
    """The next ``limit`` log entries past the cursor, with what :mod:`siyu.segments.facets` needs
    to know about each (not their properties: only whether ids and traits were there)."""
    identified = or_(events.c.anonymous_id.is_not(None), events.c.user_id.is_not(None))
    carries_traits = or_(events.c.traits.is_not(None), events.c.context["traits"].as_string().is_not(None))
    # Walk the log from the cursor in id order. ``workspace_id + 0`` keeps SQLite (without ANALYZE
    # statistics) off the (workspace_id, timestamp) index, which made it read and sort every event of
    # the workspace on each pass (25 ms at 300k events, growing with the log); the tail past the
    # cursor, of all workspaces, is short because the worker keeps up with it.
    rows = conn.execute(select(events.c.id, events.c.profile_id, events.c.name, events.c.message_id,
                               identified.label("identified"), carries_traits.label("carries_traits"))
                        .where((events.c.workspace_id + 0) == workspace_id, events.c.id > position)
                        .order_by(events.c.id).limit(limit))
    return [LogEntry(r.id, r.profile_id, r.name, r.message_id, bool(r.identified), bool(r.carries_traits))
            for r in rows]


def people_seen_before(conn: Connection, workspace_id: int, profile_ids: Sequence[int], position: int) -> set[int]:
    """Those of these people with a log entry at or before ``position``: the others are new to
    real-time evaluation (no stored answer of theirs has been compared with anything yet)."""
    listed = _id_set(conn, profile_ids).subquery()
    earlier = select(events.c.id).where(events.c.workspace_id == workspace_id, events.c.profile_id == listed.c.id,
                                        events.c.id <= position)
    return set(conn.execute(select(listed.c.id).where(earlier.exists())).scalars())


def merges_caused_by(conn: Connection, workspace_id: int, profile_ids: Sequence[int],
                     message_ids: set[str]) -> tuple[set[int], set[int]]:
    """(survivors, merged away): those of these people into whom one of these messages merged
    someone, and every profile ever merged into a survivor, directly or through a chain.

    Every merged-away id is returned, not only this batch's: when a chain of merges straddles two
    passes (A into B by an entry of the first, B into C by one of the second), the entry of the
    first already belongs to C and names no merge into C, so A is only found, and emptied, when
    the second pass finds C a survivor. Ids emptied before are cheap to evaluate again: they are
    in no segment. Read here rather than through siyu.identity because the question is the
    worker's (which merges did this stretch of the log cause), and it reads only the audit rows.
    """
    rows = conn.execute(select(profile_merges.c.into_profile_id, profile_merges.c.message_id).where(
        profile_merges.c.workspace_id == workspace_id,
        profile_merges.c.into_profile_id.in_(_id_set(conn, profile_ids))))
    survivors = {into_id for into_id, message_id in rows if message_id in message_ids}
    merged_away: set[int] = set()
    frontier = sorted(survivors)
    while frontier:
        found = set(conn.execute(select(profile_merges.c.from_profile_id).where(
            profile_merges.c.workspace_id == workspace_id,
            profile_merges.c.into_profile_id.in_(_id_set(conn, frontier)))).scalars())
        frontier = sorted(found - merged_away - survivors)
        merged_away.update(frontier)
    return survivors, merged_away


def _id_set(conn: Connection, ids: Sequence[int]) -> Select[Any]:
    """A list of ids as a one-parameter SELECT (the device of :func:`siyu.profiles.tag_store._id_list`)."""
    if conn.dialect.name == "postgresql":
        query = text("SELECT unnest(CAST(:ids AS bigint[])) AS id").bindparams(ids=list(ids))
    else:
        query = text("SELECT value AS id FROM json_each(:ids)").bindparams(ids=orjson.dumps(list(ids)).decode())
    listed = query.columns(id=BigInteger).subquery("listed")
    return select(listed.c.id)


def _pair_set(conn: Connection, pairs: Sequence[tuple[int, int]]) -> Select[Any]:
    """(segment id, profile id) pairs as a one-or-two-parameter SELECT."""
    if conn.dialect.name == "postgresql":
        query = text("SELECT * FROM unnest(CAST(:segments AS bigint[]), CAST(:people AS bigint[])) "
                     "AS pairs(segment_id, profile_id)").bindparams(segments=[s for s, _ in pairs],
                                                                    people=[p for _, p in pairs])
    else:
        query = text("SELECT json_extract(value, '$[0]') AS segment_id, json_extract(value, '$[1]') AS profile_id "
                     "FROM json_each(:pairs)").bindparams(pairs=orjson.dumps(list(pairs)).decode())
    listed = query.columns(segment_id=BigInteger, profile_id=BigInteger).subquery("pairs")
    return select(listed.c.segment_id, listed.c.profile_id)


def members_among(conn: Connection, workspace_id: int, trees: Mapping[int, Node], profile_ids: Sequence[int],
                  now: datetime) -> dict[int, set[int]]:
    """Which of ``profile_ids`` each definition selects now, for many definitions in one statement:
    one row per live person, one 0/1 column per definition (``CASE WHEN`` over the very condition
    the compiler puts in a segment's WHERE, so the answers are the same)."""
    ctx = Context(workspace_id, now, _id_set(conn, profile_ids))
    order = list(trees)
    columns = [case((condition(trees[s_id], ctx), 1), else_=0) for s_id in order]
    selected: dict[int, set[int]] = {s_id: set() for s_id in order}
    for row in conn.execute(select(profiles.c.id, *columns).where(*live_profiles(ctx))):
        for s_id, flag in zip(order, row[1:], strict=True):
            if flag:
                selected[s_id].add(row[0])
    return selected


def stored_members(conn: Connection, workspace_id: int, segment_ids: Sequence[int],
                   profile_ids: Sequence[int]) -> dict[int, set[int]]:
    """The stored membership of these people in these segments."""
    found: dict[int, set[int]] = {s_id: set() for s_id in segment_ids}
    rows = conn.execute(select(segment_members.c.segment_id, segment_members.c.profile_id).where(
        segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id.in_(list(segment_ids)),
        segment_members.c.profile_id.in_(_id_set(conn, profile_ids))))
    for segment_id, profile_id in rows:
        found[segment_id].add(profile_id)
    return found


def move_members(conn: Connection, workspace_id: int,
                 moves: Mapping[tuple[int, str], tuple[Sequence[int], Sequence[int]]], now: datetime,
                 timezone: str) -> dict[int, tuple[list[int], list[int]]]:
    """Write real-time decisions for several segments at once — (segment id, name) → (entering,
    leaving) — and return, per segment, who actually moved (``RETURNING``): one insert and one
    delete for all of them, then :func:`siyu.segments.store.record_moves`."""
    entering = [(s_id, person) for (s_id, _), (people, _) in moves.items() for person in people]
    leaving = [(s_id, person) for (s_id, _), (_, people) in moves.items() for person in people]
    entered: dict[int, list[int]] = defaultdict(list)
    exited: dict[int, list[int]] = defaultdict(list)
    if entering:
        pairs = _pair_set(conn, entering).subquery()
        # The WHERE lets SQLite parse INSERT … SELECT … ON CONFLICT unambiguously; harmless on PostgreSQL.
        rows = select(literal(workspace_id), pairs.c.segment_id, pairs.c.profile_id,
                      literal(to_millis(now), BigInteger)).where(literal(True))
        statement = upsert(conn, segment_members).from_select(
            ["workspace_id", "segment_id", "profile_id", "entered_at"], rows).on_conflict_do_nothing()
        for s_id, person in conn.execute(statement.returning(segment_members.c.segment_id,
                                                             segment_members.c.profile_id)):
            entered[s_id].append(person)
    if leaving:
        statement = delete(segment_members).where(
            segment_members.c.workspace_id == workspace_id,
            tuple_(segment_members.c.segment_id, segment_members.c.profile_id).in_(_pair_set(conn, leaving)))
        for s_id, person in conn.execute(statement.returning(segment_members.c.segment_id,
                                                             segment_members.c.profile_id)):
            exited[s_id].append(person)
    moved = {(s_id, name): (sorted(entered[s_id]), sorted(exited[s_id])) for s_id, name in moves
             if entered[s_id] or exited[s_id]}
    record_moves(conn, workspace_id, moved, now, timezone)
    return {s_id: pair for (s_id, _), pair in moved.items()}
