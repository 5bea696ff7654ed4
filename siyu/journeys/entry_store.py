"""SQL for journey entries — one person's state in one version of a journey — and their step visits.

Claiming: the worker takes one due entry per transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so workers never advance one entry twice at once and never wait on each other;
SQLite's ``BEGIN IMMEDIATE`` admits one writer at a time) and commits the entry's new state with
everything its steps wrote (outbox rows, tags, tasks, visits). A worker killed mid-advance rolls
all of it back; the entry is still due and the next claim runs the same steps again — the outbox
keys make a repeated send impossible anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, or_, select, text, update

from siyu.db.dialect import upsert
from siyu.db.tables import journey_entries, journey_step_visits, journeys
from siyu.db.types import to_millis
from siyu.journeys.models import Cohort, Entry, EntryStatus, JourneyStatus
from siyu.messaging import store as messaging_store
from siyu.segments.compile import Context, members_query
from siyu.segments.models import Node

UNFINISHED = (EntryStatus.ACTIVE.value, EntryStatus.WAITING.value)
MERGED = "profile.merged"  # the exit reason of an entry whose person merged into someone inside the same journey


def _entry(row: Any) -> Entry:
    return Entry(id=row.id, workspace_id=row.workspace_id, journey_id=row.journey_id, version=row.version,
                 profile_id=row.profile_id, entry_key=row.entry_key, cohort=Cohort(row.cohort),
                 status=EntryStatus(row.status), step=row.step, step_started_at=row.step_started_at,
                 due_at=row.due_at, woken_by=row.woken_by, attempts=row.attempts, after_event_id=row.after_event_id,
                 context=dict(row.context or {}), entered_at=row.entered_at, finished_at=row.finished_at,
                 converted_at=row.converted_at, exit_reason=row.exit_reason)


def lock_entrant(conn: Connection, workspace_id: int, journey_id: int, profile_id: int) -> None:
    """Serialise entering one person into one journey (PostgreSQL; SQLite has one writer): the entry
    rule reads the person's last entry and then inserts, and two triggers at once (an event and an
    API call) must not both pass a once-only rule. The trigger's own key is a unique constraint."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7204, hashtext(:key))"),
                     {"key": f"{workspace_id}:{journey_id}:{profile_id}"})


def by_key(conn: Connection, workspace_id: int, journey_id: int, entry_key: str) -> Entry | None:
    row = conn.execute(select(journey_entries).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.journey_id == journey_id,
        journey_entries.c.entry_key == entry_key)).one_or_none()
    return None if row is None else _entry(row)


def get_entry(conn: Connection, workspace_id: int, entry_id: int) -> Entry | None:
    row = conn.execute(select(journey_entries).where(journey_entries.c.workspace_id == workspace_id,
                                                     journey_entries.c.id == entry_id)).one_or_none()
    return None if row is None else _entry(row)


def last_entered_at(conn: Connection, workspace_id: int, journey_id: int, profile_id: int) -> datetime | None:
    return conn.execute(select(func.max(journey_entries.c.entered_at)).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.profile_id == profile_id,
        journey_entries.c.journey_id == journey_id)).scalar_one()


def insert_entry(conn: Connection, workspace_id: int, *, journey_id: int, version: int, profile_id: int,
                 entry_key: str, cohort: Cohort, status: EntryStatus, step: str | None, due_at: datetime,
                 after_event_id: int, context: dict[str, Any], now: datetime) -> Entry | None:
    """A new entry, or None when one with this key exists (the trigger was replayed)."""
    inserted = conn.execute(upsert(conn, journey_entries).values(
        workspace_id=workspace_id, journey_id=journey_id, version=version, profile_id=profile_id,
        entry_key=entry_key, cohort=cohort.value, status=status.value, step=step,
        step_started_at=now if status is EntryStatus.WAITING else None, due_at=due_at, attempts=0,
        after_event_id=after_event_id, context=context, entered_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "journey_id", "entry_key"])
        .returning(journey_entries.c.id)).first()
    return None if inserted is None else get_entry(conn, workspace_id, inserted.id)


def claim_due(conn: Connection, now: datetime, workspace_id: int | None = None) -> Entry | None:
    """The entry due longest ago, of a live journey, locked for this transaction (skipped by others).

    tenancy: cross-workspace unless ``workspace_id`` is given (the worker serves every workspace)
    """
    live = select(journeys.c.id).where(journeys.c.workspace_id == journey_entries.c.workspace_id,
                                       journeys.c.id == journey_entries.c.journey_id,
                                       journeys.c.status == JourneyStatus.LIVE.value)
    query = select(journey_entries).where(journey_entries.c.status.in_(UNFINISHED),
                                          journey_entries.c.due_at <= now, exists(live)) \
        .order_by(journey_entries.c.due_at, journey_entries.c.id).limit(1)
    if workspace_id is not None:
        query = query.where(journey_entries.c.workspace_id == workspace_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=journey_entries)
    row = conn.execute(query).first()
    return None if row is None else _entry(row)


def update_entry(conn: Connection, entry: Entry, now: datetime, **values: Any) -> None:
    """tenancy: scoped by the entry's own workspace."""
    values = {k: (v.value if isinstance(v, EntryStatus) else v) for k, v in values.items()}
    conn.execute(update(journey_entries).where(journey_entries.c.workspace_id == entry.workspace_id,
                                               journey_entries.c.id == entry.id).values(updated_at=now, **values))


def open_visit(conn: Connection, entry: Entry, step: str, now: datetime) -> None:
    """Record arriving at a step (once: a step run again after a failed advance keeps its visit),
    numbered in the order the entry went through its steps.

    tenancy: scoped by the entry's own workspace.
    """
    seq = conn.execute(select(func.count()).select_from(journey_step_visits).where(
        journey_step_visits.c.workspace_id == entry.workspace_id,
        journey_step_visits.c.entry_id == entry.id)).scalar_one() + 1
    conn.execute(upsert(conn, journey_step_visits).values(
        workspace_id=entry.workspace_id, entry_id=entry.id, journey_id=entry.journey_id, version=entry.version,
        step=step, seq=seq, entered_at=now).on_conflict_do_nothing())


def close_visit(conn: Connection, entry: Entry, step: str, now: datetime, outcome: str,
                message_id: int | None = None) -> None:
    """tenancy: scoped by the entry's own workspace."""
    conn.execute(update(journey_step_visits).where(
        journey_step_visits.c.workspace_id == entry.workspace_id, journey_step_visits.c.entry_id == entry.id,
        journey_step_visits.c.step == step).values(left_at=now, outcome=outcome[:64], message_id=message_id))


def visits_of(conn: Connection, workspace_id: int, entry_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(journey_step_visits.c.step, journey_step_visits.c.entered_at,
                               journey_step_visits.c.left_at, journey_step_visits.c.outcome,
                               journey_step_visits.c.message_id).where(
        journey_step_visits.c.workspace_id == workspace_id, journey_step_visits.c.entry_id == entry_id)
        .order_by(journey_step_visits.c.seq))
    return [dict(r._mapping) for r in rows]


def unfinished_versions(conn: Connection, workspace_id: int) -> set[tuple[int, int]]:
    """(journey, version) of every entry still inside: their steps may wait for events."""
    return {(r.journey_id, r.version) for r in conn.execute(
        select(journey_entries.c.journey_id, journey_entries.c.version).where(
            journey_entries.c.workspace_id == workspace_id, journey_entries.c.status.in_(UNFINISHED)).distinct())}


def convertible_entries(conn: Connection, workspace_id: int, profile_ids: Sequence[int], since: datetime,
                        journey_ids: Sequence[int]) -> list[Entry]:
    """These people's entries into these journeys that are inside, or entered since ``since`` and not
    converted yet: those an event can wake or convert."""
    if not profile_ids or not journey_ids:
        return []
    rows = conn.execute(select(journey_entries).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.profile_id.in_(sorted(set(profile_ids))),
        journey_entries.c.journey_id.in_(sorted(set(journey_ids))), journey_entries.c.converted_at.is_(None),
        or_(journey_entries.c.status.in_(UNFINISHED), journey_entries.c.entered_at >= since))
        .order_by(journey_entries.c.id))
    return [_entry(r) for r in rows]


def wake(conn: Connection, entry: Entry, event_id: int, now: datetime) -> bool:
    """End a wait-for-event step now (guarded: only if the entry still waits in that step)."""
    return conn.execute(update(journey_entries).where(
        journey_entries.c.workspace_id == entry.workspace_id, journey_entries.c.id == entry.id,
        journey_entries.c.status == EntryStatus.WAITING.value, journey_entries.c.step == entry.step,
        journey_entries.c.woken_by.is_(None)).values(woken_by=event_id, due_at=now, updated_at=now)).rowcount > 0


def convert(conn: Connection, entry: Entry, at: datetime, now: datetime) -> bool:
    """A goal reached: the entry ends as converted (guarded against a second conversion)."""
    return conn.execute(update(journey_entries).where(
        journey_entries.c.workspace_id == entry.workspace_id, journey_entries.c.id == entry.id,
        journey_entries.c.converted_at.is_(None)).values(
        status=EntryStatus.CONVERTED.value, converted_at=at, finished_at=func.coalesce(
            journey_entries.c.finished_at, to_millis(now)), due_at=None, updated_at=now)).rowcount > 0


def fold_entries(conn: Connection, workspace_id: int, from_id: int, into_id: int, now: datetime) -> None:
    """A profile merge: the merged-away profile's entries become the survivor's, so its goal events
    convert them, its waits end on its events, and once-only entry rules count them as its own.

    Every row is kept (entries are unique on their trigger's key, never on the person, so re-pointing
    cannot collide). One rule keeps one person from walking one journey twice at once because of a
    merge: when both profiles are inside the same journey, the survivor's entry goes on and the
    merged-away one exits with ``profile.merged`` — decided by who survives, not by timing, so the
    outcome is the same whatever order the engine or the merge ran in — and the messages it queued
    and that are still waiting stop with ``policy.merged`` (the survivor's entry sends its own).
    Set-based: one statement each to find, exit and re-point.
    """
    other = journey_entries.alias("other")
    survivor_inside = select(other.c.id).where(
        other.c.workspace_id == workspace_id, other.c.profile_id == into_id,
        other.c.journey_id == journey_entries.c.journey_id, other.c.status.in_(UNFINISHED))
    doubled = list(conn.execute(select(journey_entries.c.id).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.profile_id == from_id,
        journey_entries.c.status.in_(UNFINISHED), exists(survivor_inside))).scalars())
    if doubled:
        conn.execute(update(journey_entries).where(
            journey_entries.c.workspace_id == workspace_id, journey_entries.c.id.in_(doubled)).values(
            status=EntryStatus.EXITED.value, exit_reason=MERGED, finished_at=now, due_at=None, updated_at=now))
        queued = conn.execute(select(journey_step_visits.c.message_id).where(
            journey_step_visits.c.workspace_id == workspace_id, journey_step_visits.c.entry_id.in_(doubled),
            journey_step_visits.c.message_id.is_not(None))).scalars()
        messaging_store.stop_queued(conn, workspace_id, list(queued), messaging_store.MERGED, now,
                                    "The person merged into a profile already inside this journey, whose own "
                                    "entry sends this step.")
    conn.execute(update(journey_entries).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.profile_id == from_id).values(
        profile_id=into_id, updated_at=now))


def exit_unfinished(conn: Connection, workspace_id: int, journey_id: int, reason: str, now: datetime) -> int:
    return conn.execute(update(journey_entries).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.journey_id == journey_id,
        journey_entries.c.status.in_(UNFINISHED)).values(
        status=EntryStatus.EXITED.value, exit_reason=reason, finished_at=now, due_at=None,
        updated_at=now)).rowcount


def list_entries(conn: Connection, workspace_id: int, journey_id: int, *, status: str | None = None,
                 profile_id: int | None = None, limit: int = 100, before_id: int | None = None) -> list[Entry]:
    query = select(journey_entries).where(journey_entries.c.workspace_id == workspace_id,
                                          journey_entries.c.journey_id == journey_id)
    if status is not None:
        query = query.where(journey_entries.c.status == status)
    if profile_id is not None:
        query = query.where(journey_entries.c.profile_id == profile_id)
    if before_id is not None:
        query = query.where(journey_entries.c.id < before_id)
    return [_entry(r) for r in conn.execute(query.order_by(journey_entries.c.id.desc()).limit(limit))]


def matches_condition(conn: Connection, workspace_id: int, tree: Node, profile_id: int, now: datetime) -> bool:
    """The segment compiler's answer for one person: the very WHERE a segment of this tree would use."""
    query = members_query(tree, Context(workspace_id, now, [profile_id]))
    return bool(conn.execute(select(exists(query))).scalar())
