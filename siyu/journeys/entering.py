"""Entering a person into a journey: the one path every trigger takes (event, segment, date,
schedule, API), so entry rules, the holdout and idempotency hold alike for all of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.journeys import entry_store, steps
from siyu.journeys.models import Cohort, Definition, Entry, EntryStatus, Journey, Version
from siyu.profiles.read_store import is_erased, resolve_profile_id


@dataclass(frozen=True)
class Entered:
    entry: Entry | None  # the new entry, the earlier one with this key, or None when refused
    created: bool
    refused: str | None = None  # journeys.already_entered, journeys.profile_erased


def enter(conn: Connection, journey: Journey, version: Version, definition: Definition, *, profile_id: int,
          entry_key: str, context: dict[str, Any], after_event_id: int, now: datetime) -> Entered:
    """Enter once per ``entry_key`` (the same key again returns the first entry), if the entry rule
    allows. Holdout people are entered too — measured, never touched — waiting out the conversion
    window. Raises ProfileNotFound for an unknown person."""
    workspace_id = journey.workspace_id
    person = resolve_profile_id(conn, workspace_id, profile_id)
    entry_store.lock_entrant(conn, workspace_id, journey.id, person)
    earlier = entry_store.by_key(conn, workspace_id, journey.id, entry_key)
    if earlier is not None:
        return Entered(earlier, False)
    if is_erased(conn, workspace_id, person):
        return Entered(None, False, "journeys.profile_erased")
    if not steps.entry_allowed(definition.entry, entry_store.last_entered_at(conn, workspace_id, journey.id, person),
                               now):
        return Entered(None, False, "journeys.already_entered")
    if steps.in_holdout(definition.holdout_percent, journey.id, person):
        window = definition.goal.within if definition.goal else None
        cohort, status, step, due = Cohort.HOLDOUT, EntryStatus.WAITING, None, now + window if window else now
    else:
        cohort, status, step, due = Cohort.TREATMENT, EntryStatus.ACTIVE, definition.first, now
    entry = entry_store.insert_entry(conn, workspace_id, journey_id=journey.id, version=version.version,
                                     profile_id=person, entry_key=entry_key, cohort=cohort, status=status, step=step,
                                     due_at=due, after_event_id=after_event_id, context=context, now=now)
    if entry is None:  # an API key reused for another person at the same moment (that person's lock)
        return Entered(entry_store.by_key(conn, workspace_id, journey.id, entry_key), False)
    return Entered(entry, True)
