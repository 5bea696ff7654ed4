"""The journeys' pass over the event log: enter people on triggers, wake waits, count conversions.

Like real-time segments (:mod:`siyu.segments.realtime`), the pass tails the log past its own
cursor (``journeys.events`` in ``cursors``), and the entries it creates, the waits it ends, the
conversions it records and the cursor's move are one transaction: a crash repeats nothing (the
entries' keys are the events' ids, too) and skips nothing. Ordering argument as there: every
append to a workspace's log holds its advisory lock, so ids become visible in order.

Per event, in log order: goals and waits of entries already inside first, then triggers — so the
event that enters a person is never their own goal or the end of their own wait. ``Segment
Entered`` / ``Segment Exited`` (written by real-time segment evaluation) drive segment triggers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu.ingest.store import newest_event_id
from siyu.journeys import definitions, entering, entry_store, steps, store
from siyu.journeys.lifecycle import EVENTS_CURSOR
from siyu.journeys.models import (
    Definition,
    Entry,
    EntryStatus,
    EventTrigger,
    Journey,
    JourneyStatus,
    SegmentTrigger,
    Trigger,
    Version,
    WaitFor,
)
from siyu.profiles.errors import ProfileNotFound
from siyu.segments import store as segment_store
from siyu.segments.store import ENTERED, EXITED

BATCH = 1000


@dataclass
class EventProgress:
    events: int = 0  # log entries the cursor moved over (of every name)
    entered: int = 0
    woken: int = 0
    converted: int = 0


def trigger_names(trigger: Trigger) -> set[str]:
    if isinstance(trigger, EventTrigger):
        return {trigger.match.name}
    if isinstance(trigger, SegmentTrigger):
        return {ENTERED if trigger.on == "entered" else EXITED}
    return set()


def triggered_by(trigger: Trigger, name: str, properties: dict[str, Any], at: datetime) -> bool:
    if isinstance(trigger, EventTrigger):
        return steps.event_matches(trigger.match, name, properties, at)
    if isinstance(trigger, SegmentTrigger):
        return name == (ENTERED if trigger.on == "entered" else EXITED) and \
            properties.get("segment_id") == trigger.segment_id
    return False


def trigger_context(trigger: Trigger, row: Any, properties: dict[str, Any]) -> dict[str, Any]:
    """What an entry keeps of the log entry that made it: for an event trigger the event itself —
    what a send step's template reads as ``event`` however many steps later (:mod:`siyu.journeys.
    actions`) — and for a segment trigger which segment moved (its ``Segment Entered`` / ``Exited``
    entry is bookkeeping, not something the person did)."""
    if isinstance(trigger, SegmentTrigger):
        return {"segment": {"id": trigger.segment_id, "on": trigger.on, "event_id": row.id}}
    return {"event": {"id": row.id, "message_id": row.message_id, "name": row.name, "properties": properties,
                      "timestamp": row.timestamp.isoformat()}}


def _names_inside(definition: Definition) -> set[str]:
    """Event names an entry inside this version may react to: its goal and its waits."""
    names = {s.match.name for s in definition.steps if isinstance(s, WaitFor)}
    if definition.goal is not None:
        names.add(definition.goal.match.name)
    return names


def process_new_events(conn: Connection, workspace_id: int, now: datetime, limit: int = BATCH) -> EventProgress:
    position = segment_store.claim_cursor(conn, workspace_id, EVENTS_CURSOR, now,
                                          initial=newest_event_id(conn, workspace_id))
    count, bound = store.log_bound(conn, workspace_id, position, limit)
    progress = EventProgress()
    if bound is None:
        return progress
    running = store.running_journeys(conn, workspace_id)
    live = [(j, v, definitions.parse_stored(v.definition)) for j, v in running if j.status is JourneyStatus.LIVE]
    inside_keys = entry_store.unfinished_versions(conn, workspace_id) | {(j.id, v.version) for j, v in running}
    inside = {key: definitions.parse_stored(v.definition)
              for key, v in store.versions_by_key(conn, workspace_id, inside_keys).items()}
    names = set().union(*(trigger_names(d.trigger) for _, _, d in live), *(_names_inside(d) for d in inside.values()))
    rows = store.log_events(conn, workspace_id, position, bound, sorted(names))
    if rows:
        _apply(conn, workspace_id, rows, live, inside, now, progress)
    segment_store.advance_cursor(conn, workspace_id, EVENTS_CURSOR, bound, now)
    progress.events = count
    return progress


def _apply(conn: Connection, workspace_id: int, rows: list[Any], live: list[tuple[Journey, Version, Definition]],
           inside: dict[tuple[int, int], Definition], now: datetime, progress: EventProgress) -> None:
    windows = [d.goal.within for d in inside.values() if d.goal is not None]
    since = min(r.timestamp for r in rows) - max(windows, default=timedelta(0))
    people = [r.profile_id for r in rows if r.profile_id is not None]
    by_person: dict[int, list[Entry]] = defaultdict(list)
    found = entry_store.convertible_entries(conn, workspace_id, people, since, sorted({j for j, _ in inside}))
    missing = {(e.journey_id, e.version) for e in found} - set(inside)  # finished entries of older versions
    inside = {**inside, **{key: definitions.parse_stored(v.definition)
                           for key, v in store.versions_by_key(conn, workspace_id, missing).items()}}
    for entry in found:
        by_person[entry.profile_id].append(entry)
    for row in rows:
        if row.profile_id is None:
            continue
        properties = dict(row.properties or {})
        for entry in by_person[row.profile_id]:
            definition = inside.get((entry.journey_id, entry.version))
            if definition is not None and row.id > entry.after_event_id:
                _react(conn, entry, definition, row, properties, now, progress)
        for journey, version, definition in live:
            if row.id > version.after_event_id and triggered_by(definition.trigger, row.name, properties,
                                                                 row.timestamp):
                try:
                    result = entering.enter(conn, journey, version, definition, profile_id=row.profile_id,
                                            entry_key=f"event:{row.id}", after_event_id=row.id, now=now,
                                            context=trigger_context(definition.trigger, row, properties))
                except ProfileNotFound:  # erased since
                    continue
                if result.created and result.entry is not None:
                    progress.entered += 1
                    by_person[result.entry.profile_id].append(result.entry)


def _react(conn: Connection, entry: Entry, definition: Definition, row: Any, properties: dict[str, Any],
           now: datetime, progress: EventProgress) -> None:
    goal = definition.goal
    if goal is not None and entry.converted_at is None and steps.converts(goal, entry.entered_at, row.timestamp) \
            and steps.event_matches(goal.match, row.name, properties, row.timestamp):
        if entry_store.convert(conn, entry, row.timestamp, now):
            entry.converted_at, entry.status = row.timestamp, EntryStatus.CONVERTED
            progress.converted += 1
        return
    if entry.status is not EntryStatus.WAITING or entry.step is None or entry.woken_by is not None:
        return
    step = definition.step(entry.step)
    started = entry.step_started_at or entry.entered_at
    if isinstance(step, WaitFor) and row.timestamp >= started and \
            steps.event_matches(step.match, row.name, properties, row.timestamp) and \
            entry_store.wake(conn, entry, row.id, now):
        entry.woken_by = row.id
        progress.woken += 1
