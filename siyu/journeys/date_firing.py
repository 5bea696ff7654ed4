"""Date gifts fire in each person's own time zone: birthdays, anniversaries and holidays.

A person's local day and hour come from their ``timezone`` trait (an IANA name such as
``America/Los_Angeles``), else the workspace's. The cursor ``journeys.<id>.date.until`` is a moment
(epoch milliseconds): every person whose local fire moment (their local day's ``at``) is at or
before it has been entered. Each firing takes the window from the cursor to now (at most a day
at a time) and enters the people whose moment lies in it, so each person's moment for a local day
falls in exactly one window: they enter once, on their own day, at their own ``at``. Entry keys
``date:<local YYYY-MM-DD>:<person>`` make a window fired twice (two workers, a crash before the
cursor moved) enter nobody twice.

Only windows that can match cost a query: people without a time zone trait are looked at only when
the window holds the workspace's own ``at``, people with one only for the zones whose ``at`` is in
it; a holiday trigger asks nothing outside its day.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Connection, func, or_, select

from siyu.db.tables import profiles, segment_members, workspaces
from siyu.journeys import calendar, steps
from siyu.journeys.models import DateTrigger, HolidayTrigger
from siyu.segments.json_sql import json_text

WINDOW = timedelta(days=1)  # the longest window one firing takes (bounds the candidate days)
TIMEZONE_TRAIT = "timezone"


@lru_cache(maxsize=1)
def zones() -> frozenset[str]:
    return frozenset(available_timezones())


def fire_moment(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, ZoneInfo(zone))


def candidate_days(start: datetime, end: datetime) -> tuple[date, ...]:
    """Local days that can be under way somewhere between ``start`` and ``end`` (UTC−12 to UTC+14)."""
    first, last = start.astimezone(UTC).date() - timedelta(days=1), end.astimezone(UTC).date() + timedelta(days=1)
    return tuple(first + timedelta(days=i) for i in range((last - first).days + 1))


def days_in_window(start: datetime, end: datetime, at: time, zone: str) -> tuple[date, ...]:
    """The local days of ``zone`` whose ``at`` falls in the window ``(start, end]``."""
    return tuple(d for d in candidate_days(start, end) if start < fire_moment(d, at, zone) <= end)


@lru_cache(maxsize=1024)
def _moments(day: date, at: time) -> tuple[list[datetime], list[str]]:
    """Every zone's fire moment on its local ``day``, in time order (computed once per day: a
    window then needs only two bisections per candidate day)."""
    pairs = sorted((fire_moment(day, at, z).astimezone(UTC), z) for z in zones())
    return [m for m, _ in pairs], [z for _, z in pairs]


def zones_in_window(start: datetime, end: datetime, at: time) -> dict[str, tuple[date, ...]]:
    """Every IANA zone with a local day whose ``at`` falls in the window: zone → those days."""
    found: dict[str, tuple[date, ...]] = {}
    for day in candidate_days(start, end):
        moments, names = _moments(day, at)
        for zone in names[bisect_right(moments, start):bisect_right(moments, end)]:
            found[zone] = (*found.get(zone, ()), day)
    return found


def person_zone(raw: Any, workspace_zone: str) -> str:
    return raw if isinstance(raw, str) and raw in zones() else workspace_zone


def workspace_calendar(conn: Connection, workspace_id: int) -> dict[str, Any]:
    """The workspace's own dates (settings ``calendar.dates``), for holiday triggers."""
    settings = conn.execute(select(workspaces.c.settings).where(workspaces.c.id == workspace_id)).scalar_one()
    dates = ((settings or {}).get("calendar") or {}).get("dates")
    return dates if isinstance(dates, dict) else {}


def fire_days(trigger: DateTrigger | HolidayTrigger, days: tuple[date, ...], held: Any,
              custom: dict[str, Any]) -> list[date]:
    """Of ``days`` (local days in the person's zone), those the trigger fires on for this person:
    their date trait (``held``) matches, or the day is the holiday's (± offset)."""
    if isinstance(trigger, HolidayTrigger):
        return [d for d in days if _holiday_fires(trigger, d, custom)]
    if not isinstance(held, str):
        return []
    value = held[5:10] if trigger.yearly else held[:10]
    born = int(held[:4]) if held[:4].isdigit() else 0
    # Yearly dates fire from the first anniversary on: never on the day a member joins (or is born).
    return [d for d in days if value in steps.trait_dates(trigger, d)
            and not (trigger.yearly and (d - timedelta(days=trigger.offset_days)).year <= born)]


def _holiday_fires(trigger: HolidayTrigger, day: date, custom: dict[str, Any]) -> bool:
    try:
        return calendar.is_fire_day(trigger.holiday, day, trigger.offset_days, custom)
    except calendar.UnknownHoliday:
        return False  # a workspace date removed after publishing: nothing to fire


def due_people(conn: Connection, workspace_id: int, trigger: DateTrigger | HolidayTrigger,
               window: tuple[datetime, datetime], workspace_zone: str, after: int,
               limit: int) -> tuple[list[tuple[int, date]], int | None]:
    """One chunk of the window's people: ([(person, their local day)], the last profile id looked
    at, or None when the chunk was the last)."""
    matching = zones_in_window(window[0], window[1], trigger.at)
    custom = workspace_calendar(conn, workspace_id) if isinstance(trigger, HolidayTrigger) else {}
    all_days = tuple(sorted({d for days in matching.values() for d in days}))
    if not matching or (isinstance(trigger, HolidayTrigger)
                        and not any(_holiday_fires(trigger, d, custom) for d in all_days)):
        return [], None  # no zone has a fire day in this window
    tz = json_text(profiles.c.traits, TIMEZONE_TRAIT)
    who = [tz.in_(sorted(matching))]
    if workspace_zone in matching:  # no trait, or one that names no zone: the workspace's
        who += [tz.is_(None), tz.not_in(sorted(zones()))]
    query = select(profiles.c.id, tz.label("tz"), *_trait_column(trigger)).where(
        profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None), profiles.c.erased_at.is_(None),
        profiles.c.id > after, or_(*who))
    if isinstance(trigger, DateTrigger):
        held = json_text(profiles.c.traits, trigger.trait)
        values = sorted({v for d in all_days for v in steps.trait_dates(trigger, d)})
        part = func.substr(held, 6, 5) if trigger.yearly else func.substr(held, 1, 10)
        query = query.where(held.is_not(None), part.in_(values))
    elif trigger.segment_id is not None:
        query = query.where(profiles.c.id.in_(select(segment_members.c.profile_id).where(
            segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == trigger.segment_id)))
    rows = conn.execute(query.order_by(profiles.c.id).limit(limit)).all()
    due = []
    for row in rows:
        zone = person_zone(row.tz, workspace_zone)
        days = matching.get(zone, ())
        due += [(row.id, d) for d in fire_days(trigger, days, getattr(row, "held", None), custom)]
    return due, (rows[-1].id if len(rows) == limit else None)


def _trait_column(trigger: DateTrigger | HolidayTrigger) -> list[Any]:
    if isinstance(trigger, DateTrigger):
        return [json_text(profiles.c.traits, trigger.trait).label("held")]
    return []

