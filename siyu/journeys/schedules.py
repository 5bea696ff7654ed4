"""Time triggers: cron schedules (enter a segment's members) and date traits (birthdays,
anniversaries, a trial's end).

Each journey keeps two cursors per kind of trigger: how far it has fired
(``journeys.<id>.cron.fired``: epoch milliseconds of the last firing; ``journeys.<id>.date.fired``:
the ordinal of the last local day done) and how far into the current firing's people it got
(``journeys.<id>.<kind>.after``: the last profile id entered). People are entered in chunks, each
chunk one transaction with the cursor that records it; entry keys name the firing
(``schedule:<ms>:<person>``, ``date:<YYYY-MM-DD>:<person>``), so a chunk run twice — two workers,
or a crash before the cursor moved — enters nobody twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.types import from_millis, to_millis
from siyu.journeys import definitions, entering, entry_store, steps, store
from siyu.journeys.models import DateTrigger, Definition, Journey, JourneyStatus, ScheduleTrigger, Version
from siyu.profiles.errors import ProfileNotFound
from siyu.segments import store as segment_store

CHUNK = 500
CATCH_UP_DAYS = 7  # a worker stopped longer than this skips the older days' date triggers


def fire_due(engine: Engine, workspace_id: int, timezone: str) -> int:
    """Fire every due time trigger of the workspace's live journeys; returns how many people entered."""
    with read(engine) as conn:
        timed = [(j, v, d) for j, v in store.running_journeys(conn, workspace_id)
                 if j.status is JourneyStatus.LIVE
                 and isinstance((d := definitions.parse_stored(v.definition)).trigger, ScheduleTrigger | DateTrigger)]
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
    kind = "cron" if isinstance(trigger, ScheduleTrigger) else "date"  # positions of different units
    fired_name, after_name = f"journeys.{journey.id}.{kind}.fired", f"journeys.{journey.id}.{kind}.after"
    published = journey.published_at or now
    if isinstance(trigger, ScheduleTrigger):
        fired = segment_store.claim_cursor(conn, journey.workspace_id, fired_name, now, initial=to_millis(published))
        moment = steps.latest_cron_fire(trigger.cron, from_millis(fired), now, timezone)
        if moment is None:
            return 0, False
        fire_key, position = f"schedule:{to_millis(moment)}", to_millis(moment)
    else:
        assert isinstance(trigger, DateTrigger)
        zone = ZoneInfo(timezone)
        start = published.astimezone(zone).date() - timedelta(days=1)
        done = segment_store.claim_cursor(conn, journey.workspace_id, fired_name, now, initial=start.toordinal())
        today = now.astimezone(zone).date()
        day = max(date.fromordinal(done) + timedelta(days=1), today - timedelta(days=CATCH_UP_DAYS))
        if day > today or steps.fire_moment(trigger, day, timezone) > now:
            return 0, False
        fire_key, position = f"date:{day.isoformat()}", day.toordinal()
    after = segment_store.claim_cursor(conn, journey.workspace_id, after_name, now)
    people = _people(conn, journey.workspace_id, trigger, fire_key, after)
    entered, last_event = 0, store.last_event_id(conn, journey.workspace_id)
    for person in people:
        try:
            result = entering.enter(conn, journey, version, definition, profile_id=person,
                                    entry_key=f"{fire_key}:{person}", context={"trigger": fire_key},
                                    after_event_id=last_event, now=now)
        except ProfileNotFound:
            continue
        entered += int(result.created)
    if len(people) == CHUNK:
        segment_store.advance_cursor(conn, journey.workspace_id, after_name, people[-1], now)
        return entered, True
    segment_store.advance_cursor(conn, journey.workspace_id, after_name, 0, now)
    segment_store.advance_cursor(conn, journey.workspace_id, fired_name, position, now)
    return entered, isinstance(trigger, DateTrigger)  # a date trigger may have more days to catch up


def _people(conn: Connection, workspace_id: int, trigger: ScheduleTrigger | DateTrigger, fire_key: str,
            after: int) -> list[int]:
    if isinstance(trigger, ScheduleTrigger):
        return segment_store.member_ids(conn, workspace_id, trigger.segment_id, after=after, limit=CHUNK)
    day = date.fromisoformat(fire_key.split(":", 1)[1])
    return entry_store.people_with_trait_dates(conn, workspace_id, trigger.trait, steps.trait_dates(trigger, day),
                                               yearly=trigger.yearly, after=after, limit=CHUNK)
