"""The journey engine's decisions, as pure functions of plain values and ``now``.

When does a wait end, who is held out, which branch of a split a person takes, may this person
enter again, does this event match, which trait dates fire today, when did a cron schedule last
fire. The runner (:mod:`siyu.journeys.runner`) and the event pass (:mod:`siyu.journeys.events`)
act on these answers; tests check them with plain values.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu.journeys.models import Branch, DateTrigger, EntryPolicy, EntryRule, EventMatch, Goal, Split, Wait
from siyu.segments.evaluate import Occurrence, Person, matches

BUCKETS = 10_000


def bucket(*parts: object) -> int:
    """A stable number in [0, 10,000) for these parts: sha256, so it is the same in every process and
    release (Python's ``hash`` is salted per process) and spreads evenly."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_holdout(percent: float, journey_id: int, profile_id: int) -> bool:
    """Sticky per person and journey: the same person is always in (or out of) one journey's holdout,
    whichever version or trigger enters them, so the control group is a fixed random share."""
    return percent > 0 and bucket("holdout", journey_id, profile_id) < round(percent * BUCKETS / 100)


def split_branch(split: Split, journey_id: int, profile_id: int) -> Branch:
    """Weighted and sticky: bucket b of (journey, step, person) takes the branch whose cumulative weight
    share first exceeds b / 10,000."""
    total = sum(b.weight for b in split.branches)
    point = bucket("split", journey_id, split.id, profile_id) * total / BUCKETS
    running = 0
    for branch in split.branches:
        running += branch.weight
        if point < running:
            return branch
    return split.branches[-1]


def resume_at(wait: Wait, now: datetime, timezone: str) -> datetime:
    """The end of a wait, in the workspace's time zone.

    A whole number of days with a time of day counts calendar days, as operators say it ("1 day
    later at 10:00" is tomorrow at 10:00, whatever the hour now; "0d at 10:00" the next 10:00).
    Otherwise the wait lasts the duration, then runs on to the next ``at``. Either way it then
    moves on to the first of ``weekdays`` (keeping the time of day, or from the start of that day
    when there is none).
    """
    zone = ZoneInfo(timezone)
    duration = wait.duration or timedelta(0)
    local_now = now.astimezone(zone)
    if wait.at is not None and duration % timedelta(days=1) == timedelta(0):
        moment = datetime.combine(local_now.date() + duration, wait.at, zone)
        if moment <= local_now:
            moment = datetime.combine(local_now.date() + timedelta(days=1), wait.at, zone)
    else:
        moment = (now + duration).astimezone(zone)
        if wait.at is not None:
            moment = datetime.combine(moment.date(), wait.at, zone) + timedelta(
                days=1 if datetime.combine(moment.date(), wait.at, zone) < moment else 0)
    if wait.weekdays is None:
        return moment
    for days_ahead in range(0, 8):
        day = moment.date() + timedelta(days=days_ahead)
        if day.weekday() in wait.weekdays:
            if days_ahead == 0:
                return moment
            return datetime.combine(day, wait.at if wait.at is not None else time(0), zone)
    raise AssertionError("a week always holds an allowed day")  # weekdays is non-empty


def entry_allowed(policy: EntryPolicy, last_entered_at: datetime | None, now: datetime) -> bool:
    """Once ever: never entered. Once per period: not entered within the period before ``now``.
    Every time: always (several entries of one person may run side by side)."""
    if policy.rule is EntryRule.EVERY_TIME or last_entered_at is None:
        return True
    if policy.rule is EntryRule.ONCE:
        return False
    assert policy.period is not None
    return now - last_entered_at >= policy.period


def event_matches(match: EventMatch, name: str, properties: Mapping[str, Any] | None, at: datetime) -> bool:
    """The segment language's evaluator on a person who has just this one event."""
    if name != match.name:
        return False
    return matches(match.condition, Person(events=(Occurrence(name, at, properties or {}),)), at)


def converts(goal: Goal, entered_at: datetime, event_at: datetime) -> bool:
    """A goal event counts when it happens within the conversion window after entering."""
    return entered_at <= event_at <= entered_at + goal.within


def trait_dates(trigger: DateTrigger, day: date) -> tuple[str, ...]:
    """What the trait must hold for the trigger to fire on local ``day``: the month and day
    (``"MM-DD"``, yearly) or the whole date (``"YYYY-MM-DD"``). The trait date is ``day`` minus the
    offset (three days before a birthday fires on birthday − 3). A 29 February falls on 28 February
    in other years."""
    target = day - timedelta(days=trigger.offset_days)
    if not trigger.yearly:
        return (target.isoformat(),)
    found = [target.strftime("%m-%d")]
    if target.month == 2 and target.day == 28 and not calendar.isleap(target.year):
        found.append("02-29")
    return tuple(found)


def fire_moment(trigger: DateTrigger, day: date, timezone: str) -> datetime:
    return datetime.combine(day, trigger.at, ZoneInfo(timezone))


def latest_cron_fire(cron: str, after: datetime, now: datetime, timezone: str) -> datetime | None:
    """The latest time in (after, now] the schedule fires, in the workspace's time zone; None if none.
    After a stop, only the latest missed firing runs (no burst of stale ones)."""
    from croniter import croniter

    zone = ZoneInfo(timezone)
    # croniter's get_prev is strictly before its start: start a second later so a firing at exactly
    # ``now`` counts (cron has minute resolution).
    previous: datetime = croniter(cron, (now + timedelta(seconds=1)).astimezone(zone)).get_prev(datetime)
    return previous if previous > after else None
