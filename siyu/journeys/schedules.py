"""Time triggers: cron schedules (enter a segment's members), date traits (birthdays,
anniversaries, a trial's end) and holidays; the last two fire in each person's own time zone
(:mod:`siyu.journeys.date_firing`).

Each journey keeps two cursors per kind of trigger: how far it has fired
(``journeys.<id>.cron.fired``: epoch milliseconds of the last firing; ``journeys.<id>.date.until``:
the moment up to which every local fire moment is done) and how far into the current firing's people it got
(``journeys.<id>.<kind>.after``: the last profile id entered). People are entered in chunks, each
chunk one transaction with the cursor that records it; entry keys name the firing
(``schedule:<ms>:<person>``, ``date:<local YYYY-MM-DD>:<person>``), so a chunk run twice — two workers,
or a crash before the cursor moved — enters nobody twice.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.types import from_millis, to_millis
from siyu.ingest.store import newest_event_id
from siyu.journeys import date_firing, definitions, entering, steps, store
from siyu.journeys.models import (
    DateTrigger,
    Definition,
    HolidayTrigger,
    Journey,
    JourneyStatus,
    ScheduleTrigger,
    Version,
)
from siyu.profiles.errors import ProfileNotFound
from siyu.segments import store as segment_store

CHUNK = 500
CATCH_UP_DAYS = 7  # a worker stopped longer than this skips the older days' date triggers
TIMED = (ScheduleTrigger, DateTrigger, HolidayTrigger)


def fire_due(engine: Engine, workspace_id: int, timezone: str) -> int:
    """Fire every due time trigger of the workspace's live journeys; returns how many people entered."""
    with read(engine) as conn:
        timed = [(j, v, d) for j, v in store.running_journeys(conn, workspace_id)
                 if j.status is JourneyStatus.LIVE
                 and isinstance((d := definitions.parse_stored(v.definition)).trigger, TIMED)]
    entered = 0
    for journey, version, definition in timed:
        while True:
            with write(engine) as conn:
                count, more = _fire_chunk(conn, journey, version, definition, timezone, clock.now())
            entered += count
            if not more:
                break
    return entered


def _fire_chunk(conn: Connection, journey: Journey, version: Version, definition: Definition, timezone: str,
                now: datetime) -> tuple[int, bool]:
    """One chunk of the journey's next due firing: (people entered, whether to call again)."""
    trigger = definition.trigger
    if not isinstance(trigger, ScheduleTrigger):
        assert isinstance(trigger, DateTrigger | HolidayTrigger)
        return _fire_date_chunk(conn, journey, version, definition, trigger, timezone, now)
    fired_name, after_name = f"journeys.{journey.id}.cron.fired", f"journeys.{journey.id}.cron.after"
    published = journey.published_at or now
    fired = segment_store.claim_cursor(conn, journey.workspace_id, fired_name, now, initial=to_millis(published))
    moment = steps.latest_cron_fire(trigger.cron, from_millis(fired), now, timezone)
    if moment is None:
        return 0, False
    fire_key = f"schedule:{to_millis(moment)}"
    after = segment_store.claim_cursor(conn, journey.workspace_id, after_name, now)
    people = segment_store.member_ids(conn, journey.workspace_id, trigger.segment_id, after=after, limit=CHUNK)
    entered = _enter(conn, journey, version, definition, [(p, fire_key) for p in people], now)
    if len(people) == CHUNK:
        segment_store.advance_cursor(conn, journey.workspace_id, after_name, people[-1], now)
        return entered, True
    segment_store.advance_cursor(conn, journey.workspace_id, after_name, 0, now)
    segment_store.advance_cursor(conn, journey.workspace_id, fired_name, to_millis(moment), now)
    return entered, False


def _fire_date_chunk(conn: Connection, journey: Journey, version: Version, definition: Definition,
                     trigger: DateTrigger | HolidayTrigger, timezone: str, now: datetime) -> tuple[int, bool]:
    """One chunk of the next window of local fire moments: from the published day on (a journey
    published at noon still fires today's 10:00), at most CATCH_UP_DAYS back, a day at a time."""
    until_name, after_name = f"journeys.{journey.id}.date.until", f"journeys.{journey.id}.date.after"
    published = (journey.published_at or now).astimezone(ZoneInfo(timezone)).date()
    first = datetime.combine(published, time(0), ZoneInfo(timezone)) - timedelta(milliseconds=1)
    done = segment_store.claim_cursor(conn, journey.workspace_id, until_name, now, initial=to_millis(first))
    start = max(from_millis(done), now - timedelta(days=CATCH_UP_DAYS))
    end = min(now, start + date_firing.WINDOW)
    if end <= start:
        return 0, False
    after = segment_store.claim_cursor(conn, journey.workspace_id, after_name, now)
    due, last = date_firing.due_people(conn, journey.workspace_id, trigger, (start, end), timezone, after, CHUNK)
    entered = _enter(conn, journey, version, definition, [(p, f"date:{d.isoformat()}") for p, d in due], now)
    if last is not None:
        segment_store.advance_cursor(conn, journey.workspace_id, after_name, last, now)
        return entered, True
    segment_store.advance_cursor(conn, journey.workspace_id, after_name, 0, now)
    segment_store.advance_cursor(conn, journey.workspace_id, until_name, to_millis(end), now)
    return entered, end < now  # more days to catch up


def _enter(conn: Connection, journey: Journey, version: Version, definition: Definition,
           people: list[tuple[int, str]], now: datetime) -> int:
    entered, last_event = 0, newest_event_id(conn, journey.workspace_id)
    for person, fire_key in people:
        try:
            result = entering.enter(conn, journey, version, definition, profile_id=person,
                                    entry_key=f"{fire_key}:{person}", context={"trigger": fire_key},
                                    after_event_id=last_event, now=now)
        except ProfileNotFound:
            continue
        entered += int(result.created)
    return entered
