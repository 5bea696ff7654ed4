"""SQL for journeys and their versions, and the journeys' reads of the event log.

Entries and their steps are in :mod:`siyu.journeys.entry_store`, figures in
:mod:`siyu.journeys.stats_store`, staff tasks in :mod:`siyu.journeys.task_store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, func, insert, select, update

from siyu.db.tables import events, journey_versions, journeys
from siyu.journeys.errors import JourneyNotFound
from siyu.journeys.models import Journey, JourneyStatus, Version

RUNNING = (JourneyStatus.LIVE.value, JourneyStatus.PAUSED.value)


def _journey(row: Any) -> Journey:
    return Journey(id=row.id, workspace_id=row.workspace_id, name=row.name, description=row.description,
                   status=JourneyStatus(row.status), draft=dict(row.draft), version=row.version,
                   created_by=row.created_by, created_at=row.created_at, updated_at=row.updated_at,
                   published_at=row.published_at)


def _version(row: Any) -> Version:
    return Version(workspace_id=row.workspace_id, journey_id=row.journey_id, version=row.version,
                   definition=dict(row.definition), after_event_id=row.after_event_id,
                   published_by=row.published_by, published_at=row.published_at)


def create_journey(conn: Connection, workspace_id: int, *, name: str, description: str | None,
                   draft: dict[str, Any], created_by: str | None, now: datetime) -> Journey:
    journey_id = conn.execute(insert(journeys).values(
        workspace_id=workspace_id, name=name, description=description, status=JourneyStatus.DRAFT.value,
        draft=draft, version=0, created_by=created_by, created_at=now, updated_at=now,
    ).returning(journeys.c.id)).scalar_one()
    return get_journey(conn, workspace_id, journey_id)


def get_journey(conn: Connection, workspace_id: int, journey_id: int, *, lock: bool = False) -> Journey:
    """One journey; ``lock`` holds its row for the transaction on PostgreSQL (publishing and state
    changes of one journey take turns; SQLite's BEGIN IMMEDIATE already does)."""
    query = select(journeys).where(journeys.c.workspace_id == workspace_id, journeys.c.id == journey_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise JourneyNotFound(f"No journey {journey_id} in this workspace.", details={"journey_id": journey_id})
    return _journey(row)


def list_journeys(conn: Connection, workspace_id: int, *, include_archived: bool = False) -> list[Journey]:
    query = select(journeys).where(journeys.c.workspace_id == workspace_id)
    if not include_archived:
        query = query.where(journeys.c.status != JourneyStatus.ARCHIVED.value)
    return [_journey(r) for r in conn.execute(query.order_by(desc(journeys.c.id)))]


def update_journey(conn: Connection, workspace_id: int, journey_id: int, now: datetime, **values: Any) -> Journey:
    values = {k: (v.value if isinstance(v, JourneyStatus) else v) for k, v in values.items()}
    conn.execute(update(journeys).where(journeys.c.workspace_id == workspace_id, journeys.c.id == journey_id)
                 .values(updated_at=now, **values))
    return get_journey(conn, workspace_id, journey_id)


def add_version(conn: Connection, workspace_id: int, journey_id: int, version: int, definition: dict[str, Any],
                after_event_id: int, published_by: str | None, now: datetime) -> Version:
    conn.execute(insert(journey_versions).values(
        workspace_id=workspace_id, journey_id=journey_id, version=version, definition=definition,
        after_event_id=after_event_id, published_by=published_by, published_at=now))
    return get_version(conn, workspace_id, journey_id, version)


def get_version(conn: Connection, workspace_id: int, journey_id: int, version: int) -> Version:
    row = conn.execute(select(journey_versions).where(
        journey_versions.c.workspace_id == workspace_id, journey_versions.c.journey_id == journey_id,
        journey_versions.c.version == version)).one_or_none()
    if row is None:
        raise JourneyNotFound(f"Journey {journey_id} has no version {version}.",
                              details={"journey_id": journey_id, "version": version})
    return _version(row)


def versions_of(conn: Connection, workspace_id: int, journey_id: int) -> list[Version]:
    rows = conn.execute(select(journey_versions).where(
        journey_versions.c.workspace_id == workspace_id, journey_versions.c.journey_id == journey_id)
        .order_by(journey_versions.c.version))
    return [_version(r) for r in rows]


def versions_by_key(conn: Connection, workspace_id: int, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int],
                                                                                                  Version]:
    """The versions named by (journey id, version) pairs."""
    wanted = set(keys)
    journey_ids = sorted({j for j, _ in wanted})
    if not journey_ids:
        return {}
    rows = conn.execute(select(journey_versions).where(journey_versions.c.workspace_id == workspace_id,
                                                       journey_versions.c.journey_id.in_(journey_ids)))
    return {(r.journey_id, r.version): _version(r) for r in rows if (r.journey_id, r.version) in wanted}


def running_journeys(conn: Connection, workspace_id: int) -> list[tuple[Journey, Version]]:
    """Live and paused journeys with their latest version."""
    rows = conn.execute(select(journeys).where(journeys.c.workspace_id == workspace_id,
                                               journeys.c.status.in_(RUNNING), journeys.c.version > 0)
                        .order_by(journeys.c.id)).all()
    found = [_journey(r) for r in rows]
    versions = versions_by_key(conn, workspace_id, [(j.id, j.version) for j in found])
    return [(j, versions[(j.id, j.version)]) for j in found]


def workspaces_with_journeys(conn: Connection) -> list[int]:
    """Workspaces with a live or paused journey: the ones the worker visits."""
    # tenancy: cross-workspace by design — the worker serves every workspace
    query = select(journeys.c.workspace_id).where(journeys.c.status.in_(RUNNING)).distinct()
    return sorted(conn.execute(query).scalars())


def log_bound(conn: Connection, workspace_id: int, position: int, limit: int) -> tuple[int, int | None]:
    """How many log entries (at most ``limit``) follow ``position``, and the id of the last of them:
    a batch's end."""
    # ``workspace_id + 0``: walk ids from the cursor rather than the (workspace_id, timestamp) index
    # (the reason is in siyu.segments.realtime_store.log_entries_after).
    ids = select(events.c.id).where((events.c.workspace_id + 0) == workspace_id, events.c.id > position) \
        .order_by(events.c.id).limit(limit).subquery()
    count, bound = conn.execute(select(func.count(), func.max(ids.c.id))).one()
    return count, bound


def log_events(conn: Connection, workspace_id: int, position: int, bound: int,
               names: Sequence[str]) -> list[Any]:
    """The log entries in (position, bound] with one of ``names``, in id order."""
    if not names:
        return []
    return list(conn.execute(select(events.c.id, events.c.profile_id, events.c.name, events.c.timestamp,
                                    events.c.properties, events.c.message_id)
                             .where((events.c.workspace_id + 0) == workspace_id, events.c.id > position,
                                    events.c.id <= bound, events.c.name.in_(sorted(set(names))))
                             .order_by(events.c.id)))


def events_of_profile(conn: Connection, workspace_id: int, profile_id: int, name: str, after_event_id: int,
                      start: datetime, end: datetime) -> list[Any]:
    """A person's events of one name between two instants (past an event id), to check a wait-for-event
    step at its timeout."""
    return list(conn.execute(select(events.c.id, events.c.name, events.c.timestamp, events.c.properties).where(
        events.c.workspace_id == workspace_id, events.c.profile_id == profile_id, events.c.name == name,
        events.c.timestamp >= start, events.c.timestamp <= end, events.c.id > after_event_id)
        .order_by(events.c.id)))
