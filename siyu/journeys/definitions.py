"""Read a journey definition (JSON, or YAML in the CLI) into :class:`~siyu.journeys.models.Definition`.

Pure: no database. Every refusal names the path (``steps[3].send.channel``), the step's id and
the field, and says why and what would be accepted, like the segment parser it builds on: event
filters and condition branches are handed to :func:`siyu.segments.parse.parse`, and its paths are
re-rooted here. Steps are read by :mod:`siyu.journeys.step_definitions`. What needs the workspace
(do referenced segments exist?) is checked on publishing by :mod:`siyu.journeys.lifecycle`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from siyu.journeys.definition_values import (
    an_object,
    duration,
    event_match,
    local_time,
    only,
    rerooted,
    segment_id,
    text,
    type_name,
)
from siyu.journeys.errors import InvalidJourney
from siyu.journeys.models import (
    ApiTrigger,
    DateTrigger,
    Definition,
    EntryPolicy,
    EntryRule,
    EventTrigger,
    Goal,
    HolidayTrigger,
    ScheduleTrigger,
    SegmentTrigger,
    Trigger,
)
from siyu.journeys.step_definitions import STEP_KINDS, read_steps

__all__ = ["STEP_KINDS", "TRIGGER_KINDS", "duration", "event_match", "parse", "parse_stored", "rerooted"]
TRIGGER_KINDS = ("event", "segment", "date_trait", "holiday", "schedule", "api")
_OFFSET = re.compile(r"^\s*([+-]?)(\d{1,3})\s*([dw])\s*$")


def parse(raw: Any) -> Definition:
    if not isinstance(raw, dict):
        raise InvalidJourney("$", f"a journey definition is an object with trigger and steps; got {type_name(raw)}")
    only(raw, {"trigger", "entry", "goal", "holdout_percent", "policy", "steps"}, "$")
    if "trigger" not in raw:
        raise InvalidJourney("trigger", f"missing: say what enters people, one of {', '.join(TRIGGER_KINDS)}")
    steps = read_steps(raw.get("steps"))
    holdout = raw.get("holdout_percent", 0)
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0 <= holdout <= 50:
        raise InvalidJourney("holdout_percent", f"expected a percentage from 0 to 50; got {holdout!r}")
    return Definition(trigger=_trigger(raw["trigger"]), steps=steps, entry=_entry(raw.get("entry")),
                      goal=_goal(raw["goal"]) if raw.get("goal") is not None else None,
                      holdout_percent=float(holdout), policy=_policy(raw.get("policy")))


@lru_cache(maxsize=1024)
def _parse_canonical(canonical: str) -> Definition:
    return parse(orjson.loads(canonical))


def parse_stored(raw: dict[str, Any]) -> Definition:
    """A stored (already validated) definition, parsed once per process: versions never change."""
    return _parse_canonical(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode())


# --- trigger, entry rule, goal, policy -----------------------------------------------------------

def _trigger(raw: Any) -> Trigger:
    raw = an_object(raw, "trigger", f"one of {', '.join(TRIGGER_KINDS)}")
    named = next((k for k in ("schedule", "holiday") if k in raw), None)  # these may name a segment
    kinds = [named] if named else [k for k in TRIGGER_KINDS if k in raw]
    if len(kinds) != 1:
        raise InvalidJourney("trigger", f"a trigger has exactly one of {', '.join(TRIGGER_KINDS)}; found "
                             f"{', '.join(kinds) or ', '.join(map(str, raw)) or 'nothing'}")
    kind = kinds[0]
    if kind == "event":
        return EventTrigger(event_match(raw, "trigger"))
    if kind == "segment":
        only(raw, {"segment", "on"}, "trigger")
        on = raw.get("on", "entered")
        if on not in ("entered", "exited"):
            raise InvalidJourney("trigger.on", f"expected \"entered\" or \"exited\"; got {on!r}")
        return SegmentTrigger(segment_id(raw["segment"], "trigger.segment"), on)
    if kind == "date_trait":
        only(raw, {"date_trait", "offset", "at", "yearly"}, "trigger")
        days = _offset_days(raw.get("offset", "0d"))
        yearly = raw.get("yearly", True)
        if not isinstance(yearly, bool):
            raise InvalidJourney("trigger.yearly", f"expected true or false; got {type_name(yearly)}")
        return DateTrigger(text(raw["date_trait"], "trigger.date_trait", "a trait name"), days,
                           local_time(raw.get("at", "10:00"), "trigger.at"), yearly)
    if kind == "holiday":
        return _holiday(raw)
    if kind == "schedule":
        return _schedule(raw)
    only(raw, {"api"}, "trigger")
    if raw["api"] is not True:
        raise InvalidJourney("trigger.api", "write {\"api\": true}: people enter through the API only")
    return ApiTrigger()


def _offset_days(offset: Any) -> int:
    match = _OFFSET.match(offset) if isinstance(offset, str) else None
    if not match:
        raise InvalidJourney("trigger.offset", f"expected days or weeks before (-) or after (+) the date, "
                             f"such as \"-3d\" or \"+1w\"; got {offset!r}")
    days = int(match.group(2)) * (7 if match.group(3) == "w" else 1) * (-1 if match.group(1) == "-" else 1)
    if abs(days) > 366:
        raise InvalidJourney("trigger.offset", "the offset may be at most a year")
    return days


def _holiday(raw: dict[str, Any]) -> HolidayTrigger:
    """A built-in holiday by id, or a name the workspace defines in its settings' ``calendar.dates``
    (checked when it fires: an unknown name never fires)."""
    from siyu.journeys.calendar import HOLIDAYS

    only(raw, {"holiday", "offset", "at", "segment"}, "trigger")
    name = text(raw["holiday"], "trigger.holiday", f"a holiday such as {', '.join(list(HOLIDAYS)[:4])}")
    if len(name) > 64:
        raise InvalidJourney("trigger.holiday", "a holiday name is at most 64 characters")
    segment = segment_id(raw["segment"], "trigger.segment") if raw.get("segment") is not None else None
    return HolidayTrigger(name, _offset_days(raw.get("offset", "0d")),
                          local_time(raw.get("at", "10:00"), "trigger.at"), segment)


def _schedule(raw: dict[str, Any]) -> ScheduleTrigger:
    from croniter import croniter

    only(raw, {"schedule", "segment"}, "trigger")
    cron = raw["schedule"]
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise InvalidJourney("trigger.schedule", "expected a 5-field cron expression (minute hour day month "
                             f"weekday) such as \"0 10 * * 1\"; got {cron!r}")
    if "segment" not in raw:
        raise InvalidJourney("trigger.segment", "a schedule enters a saved segment's members: give its id")
    return ScheduleTrigger(cron.strip(), segment_id(raw["segment"], "trigger.segment"))


def _entry(raw: Any) -> EntryPolicy:
    if raw is None:
        return EntryPolicy()
    raw = an_object(raw, "entry", "{\"rule\": \"once\" | \"once_per\" | \"every_time\"}")
    only(raw, {"rule", "period"}, "entry")
    try:
        rule = EntryRule(raw.get("rule", "once"))
    except ValueError:
        raise InvalidJourney("entry.rule", f"unknown rule {raw.get('rule')!r}; one of "
                             f"{', '.join(r.value for r in EntryRule)}") from None
    if rule is EntryRule.ONCE_PER:
        if "period" not in raw:
            raise InvalidJourney("entry.period", "\"once_per\" needs a period such as \"30d\"")
        return EntryPolicy(rule, duration(raw["period"], "entry.period"))
    if "period" in raw:
        raise InvalidJourney("entry.period", f"a period applies to \"once_per\", not {rule.value!r}")
    return EntryPolicy(rule)


def _goal(raw: Any) -> Goal:
    raw = an_object(raw, "goal", "{\"event\": name, \"where\": [...], \"within\": \"7d\"}")
    return Goal(event_match(raw, "goal", extra=frozenset({"within"})),
                duration(raw.get("within", "30d"), "goal.within"))


def _policy(raw: Any) -> dict[str, Any] | None:
    """Caps and cooldown for this journey's messages, over the workspace's (checked as the policy reads them)."""
    from siyu.messaging.policies import settings_from

    if raw is None:
        return None
    raw = an_object(raw, "policy", "{\"caps\": [...], \"cooldown_minutes\": n}")
    only(raw, {"caps", "cooldown_minutes"}, "policy")
    try:
        settings_from(raw, "UTC")
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidJourney("policy", f"not a valid contact-policy override ({error}); caps are [{{\"limit\": 2, "
                             "\"days\": 1, \"channel\": \"email\"}], cooldown_minutes a number") from None
    if "cooldown_minutes" in raw and not 0 <= float(raw["cooldown_minutes"]) <= 43_200:
        raise InvalidJourney("policy.cooldown_minutes", "expected 0 to 43,200 minutes (30 days)")
    return raw
