"""What operators do to a journey: create and edit the draft, publish a version, pause, resume,
archive, and enter a person through the API.

Publishing freezes the draft into the next numbered version. New entries take the latest
version; people already inside stay on the version they entered (their steps never change under
them). Pausing stops new entries and holds everyone inside where they are (nothing is sent) until
the journey is resumed; archiving ends it: people still inside leave with ``journey.archived``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.ingest.store import newest_event_id
from siyu.journeys import definitions, entering, entry_store, store
from siyu.journeys.errors import InvalidJourney, JourneyConflict, JourneyError
from siyu.journeys.models import (
    Condition,
    Definition,
    Entry,
    EntryStatus,
    HolidayTrigger,
    Journey,
    JourneyStatus,
    ScheduleTrigger,
    SegmentTrigger,
)
from siyu.profiles.read_store import resolve_profile_id
from siyu.segments import membership
from siyu.segments import store as segment_store
from siyu.segments.errors import InvalidDefinition, SegmentNotFound

EVENTS_CURSOR = "journeys.events"
MAX_NAME = 200


def _checked_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise JourneyError(f"A journey needs a name of 1-{MAX_NAME} characters.", details={"field": "name"})
    return name.strip()


def create(conn: Connection, workspace_id: int, *, name: str, description: str | None, definition: Any,
           actor: str | None, now: datetime) -> Journey:
    """A draft: checked now (so mistakes show while editing), published later."""
    definitions.parse(definition)
    return store.create_journey(conn, workspace_id, name=_checked_name(name), description=description,
                                draft=definition, created_by=actor, now=now)


def edit(conn: Connection, workspace_id: int, journey_id: int, *, name: str | None = None,
         description: str | None = None, definition: Any = None, now: datetime) -> Journey:
    journey = store.get_journey(conn, workspace_id, journey_id, lock=True)
    if journey.status is JourneyStatus.ARCHIVED:
        raise JourneyConflict(f"Journey {journey_id} is archived; create a new one (or copy its draft).")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _checked_name(name)
    if description is not None:
        values["description"] = description
    if definition is not None:
        definitions.parse(definition)
        values["draft"] = definition
    return store.update_journey(conn, workspace_id, journey_id, now, **values)


def check_references(conn: Connection, workspace_id: int, definition: Definition) -> None:
    """What the pure parser cannot know: the segments a trigger or condition names exist here."""
    trigger = definition.trigger
    if isinstance(trigger, SegmentTrigger | ScheduleTrigger | HolidayTrigger) and trigger.segment_id is not None:
        try:
            segment_store.get_segment(conn, workspace_id, trigger.segment_id)
        except SegmentNotFound:
            raise InvalidJourney("trigger.segment", f"segment {trigger.segment_id} does not exist in this "
                                 "workspace") from None
    for i, step in enumerate(definition.steps):
        if isinstance(step, Condition):
            try:
                membership.checked(conn, workspace_id, step.raw)
            except InvalidDefinition as error:
                raise definitions.rerooted(error, f"steps[{i}].condition", step.id) from None


def publish(conn: Connection, workspace_id: int, journey_id: int, *, actor: str | None, now: datetime) -> Journey:
    journey = store.get_journey(conn, workspace_id, journey_id, lock=True)
    if journey.status is JourneyStatus.ARCHIVED:
        raise JourneyConflict(f"Journey {journey_id} is archived and cannot be published again.")
    definition = definitions.parse(journey.draft)
    check_references(conn, workspace_id, definition)
    after = newest_event_id(conn, workspace_id)
    others = [j for j, _ in store.running_journeys(conn, workspace_id) if j.id != journey_id]
    position = segment_store.claim_cursor(conn, workspace_id, EVENTS_CURSOR, now, initial=after)
    if not others and position < after:  # nothing followed the log meanwhile: start from here
        segment_store.advance_cursor(conn, workspace_id, EVENTS_CURSOR, after, now)
    store.add_version(conn, workspace_id, journey_id, journey.version + 1, journey.draft, after, actor, now)
    return store.update_journey(conn, workspace_id, journey_id, now, version=journey.version + 1,
                                status=JourneyStatus.LIVE, published_at=now)


def pause(conn: Connection, workspace_id: int, journey_id: int, now: datetime) -> Journey:
    journey = store.get_journey(conn, workspace_id, journey_id, lock=True)
    if journey.status is not JourneyStatus.LIVE:
        raise JourneyConflict(f"Journey {journey_id} is {journey.status.value}; only a live journey can be paused.")
    return store.update_journey(conn, workspace_id, journey_id, now, status=JourneyStatus.PAUSED)


def resume(conn: Connection, workspace_id: int, journey_id: int, now: datetime) -> Journey:
    journey = store.get_journey(conn, workspace_id, journey_id, lock=True)
    if journey.status is not JourneyStatus.PAUSED:
        raise JourneyConflict(f"Journey {journey_id} is {journey.status.value}; only a paused journey can be "
                              "resumed (publish a draft to make it live).")
    return store.update_journey(conn, workspace_id, journey_id, now, status=JourneyStatus.LIVE)


def archive(conn: Connection, workspace_id: int, journey_id: int, now: datetime) -> Journey:
    journey = store.get_journey(conn, workspace_id, journey_id, lock=True)
    if journey.status is JourneyStatus.ARCHIVED:
        raise JourneyConflict(f"Journey {journey_id} is already archived.")
    entry_store.exit_unfinished(conn, workspace_id, journey_id, "journey.archived", now)
    return store.update_journey(conn, workspace_id, journey_id, now, status=JourneyStatus.ARCHIVED)


def enter_by_api(conn: Connection, workspace_id: int, journey_id: int, *, profile_id: int, key: str,
                 properties: dict[str, Any] | None, now: datetime) -> tuple[Entry, bool]:
    """The API trigger: enter once per idempotency key; the same key for another person is refused."""
    journey = store.get_journey(conn, workspace_id, journey_id)
    if journey.status is not JourneyStatus.LIVE:
        raise JourneyConflict(f"Journey {journey_id} is {journey.status.value}; people enter live journeys only.",
                              code="journeys.not_live")
    version = store.get_version(conn, workspace_id, journey_id, journey.version)
    definition = definitions.parse_stored(version.definition)
    person = resolve_profile_id(conn, workspace_id, profile_id)
    result = entering.enter(conn, journey, version, definition, profile_id=person, entry_key=f"api:{key}",
                            context={"api": {"key": key, "properties": properties or {}}},
                            after_event_id=newest_event_id(conn, workspace_id), now=now)
    if result.entry is None:
        reason = result.refused or "journeys.already_entered"
        raise JourneyConflict(f"Profile {profile_id} cannot enter journey {journey_id} now ({reason}; entry rule: "
                              f"{definition.entry.rule.value}).", code=reason, details={"profile_id": profile_id})
    if not result.created and result.entry.profile_id != person:
        raise JourneyConflict(f"The idempotency key {key!r} was used for another person; use a new key.",
                              code="journeys.idempotency_conflict", details={"key": key})
    return result.entry, result.created


def describe(conn: Connection, workspace_id: int, journey_id: int) -> dict[str, Any]:
    journey = store.get_journey(conn, workspace_id, journey_id)
    return {**as_dict(journey), "versions": [
        {"version": v.version, "published_at": v.published_at, "published_by": v.published_by}
        for v in store.versions_of(conn, workspace_id, journey_id)]}


def as_dict(journey: Journey) -> dict[str, Any]:
    return {"id": journey.id, "name": journey.name, "description": journey.description,
            "status": journey.status.value, "version": journey.version, "draft": journey.draft,
            "created_by": journey.created_by, "created_at": journey.created_at, "updated_at": journey.updated_at,
            "published_at": journey.published_at}


def entry_dict(entry: Entry) -> dict[str, Any]:
    return {"id": entry.id, "journey_id": entry.journey_id, "version": entry.version,
            "profile_id": entry.profile_id, "cohort": entry.cohort.value, "status": entry.status.value,
            "step": entry.step, "due_at": entry.due_at if entry.status in (EntryStatus.ACTIVE, EntryStatus.WAITING)
            else None, "entered_at": entry.entered_at, "finished_at": entry.finished_at,
            "converted_at": entry.converted_at, "exit_reason": entry.exit_reason}
