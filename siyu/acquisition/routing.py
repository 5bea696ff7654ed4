"""Which staff a WeCom channel code offers now: a pure decision over the code's rule, today's
counts and the clock.

A contact way's ``user`` list is the set WeCom hands new contacts to; siyu decides that list and
pushes it when it changes (:func:`siyu.acquisition.channel_codes.sync_code`). Strategies:

- ``all``: every available member (WeCom spreads contacts among them);
- ``round_robin``: one member, the next available one after the member who got the last add;
- ``weighted``: one member, the one furthest below its share today — least ``added_today / weight``
  (ties: the larger weight, then the rule's order), so weights 3:1 give 3 of every 4 adds to the first;
- ``least_loaded``: one member, the one owning the fewest customers now.

A member is *available* when active (not left), inside its working hours in the workspace time zone
(a window may span midnight) and under its daily cap of adds through this code. When none is, the
fallback members that are still active take over; when there is none of those either, the list is
empty and the caller keeps what WeCom has (a contact way needs at least one member). Never offered:
a full, departed or off-hours member while another is available.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any, assert_never
from zoneinfo import ZoneInfo


class Strategy(StrEnum):
    ALL = "all"
    ROUND_ROBIN = "round_robin"
    WEIGHTED = "weighted"
    LEAST_LOADED = "least_loaded"


@dataclass(frozen=True)
class Candidate:
    userid: str
    weight: int = 1
    daily_cap: int | None = None  # adds per local day through this code
    hours: tuple[time, time] | None = None  # [start, end) in the workspace time zone


@dataclass(frozen=True)
class Rule:
    strategy: Strategy
    staff: tuple[Candidate, ...]
    fallback: tuple[str, ...] = ()


@dataclass(frozen=True)
class Load:
    added_today: Mapping[str, int] = field(default_factory=dict)
    owned: Mapping[str, int] = field(default_factory=dict)
    last_assigned: str | None = None
    departed: frozenset[str] = frozenset()  # members who left


@dataclass(frozen=True)
class Routed:
    users: tuple[str, ...]
    fallback: bool = False
    excluded: Mapping[str, str] = field(default_factory=dict)  # userid -> routing.left | .full | .off_hours


def within_hours(hours: tuple[time, time] | None, now: datetime, timezone: str) -> bool:
    if hours is None or hours[0] == hours[1]:
        return True
    start, end = hours
    moment = now.astimezone(ZoneInfo(timezone)).time()
    return (start <= moment or moment < end) if start > end else start <= moment < end


def unavailable(candidate: Candidate, load: Load, now: datetime, timezone: str) -> str | None:
    """Why the member can't take a contact now (None: they can)."""
    if candidate.userid in load.departed:
        return "routing.left"
    if candidate.daily_cap is not None and load.added_today.get(candidate.userid, 0) >= candidate.daily_cap:
        return "routing.full"
    if not within_hours(candidate.hours, now, timezone):
        return "routing.off_hours"
    return None


def route(rule: Rule, load: Load, now: datetime, timezone: str) -> Routed:
    excluded = {c.userid: why for c in rule.staff if (why := unavailable(c, load, now, timezone)) is not None}
    ready = [c for c in rule.staff if c.userid not in excluded]
    if not ready:
        backup = tuple(u for u in rule.fallback if u not in load.departed)
        return Routed(backup, fallback=bool(backup), excluded=excluded)
    return Routed(_pick(rule, ready, load), excluded=excluded)


def _pick(rule: Rule, ready: list[Candidate], load: Load) -> tuple[str, ...]:
    match rule.strategy:
        case Strategy.ALL:
            return tuple(c.userid for c in ready)
        case Strategy.ROUND_ROBIN:
            order = [c.userid for c in rule.staff]
            start = order.index(load.last_assigned) + 1 if load.last_assigned in order else 0
            rotated = order[start:] + order[:start]
            names = {c.userid for c in ready}
            return (next(u for u in rotated if u in names),)
        case Strategy.WEIGHTED:
            best = min(enumerate(ready), key=lambda item: (
                load.added_today.get(item[1].userid, 0) / max(item[1].weight, 1), -item[1].weight, item[0]))
            return (best[1].userid,)
        case Strategy.LEAST_LOADED:
            best = min(enumerate(ready), key=lambda item: (load.owned.get(item[1].userid, 0), item[0]))
            return (best[1].userid,)
        case _:
            assert_never(rule.strategy)


def parse_rule(raw: Any) -> Rule:
    """A rule from its JSON (``{"strategy", "staff": [{"userid", "weight", "daily_cap", "hours":
    ["09:00", "18:00"]}], "fallback": [...]}``); raises ValueError saying what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("routing must be an object")
    strategy = Strategy(raw.get("strategy", "round_robin"))
    staff = []
    for index, item in enumerate(raw.get("staff") or []):
        if not isinstance(item, dict) or not isinstance(item.get("userid"), str) or not item["userid"]:
            raise ValueError(f"staff[{index}] needs a 'userid'")
        weight, cap = int(item.get("weight", 1)), item.get("daily_cap")
        if weight < 1 or (cap is not None and int(cap) < 0):
            raise ValueError(f"staff[{index}]: weight ≥ 1 and daily_cap ≥ 0")
        hours = item.get("hours")
        if hours is not None:
            if not (isinstance(hours, list | tuple) and len(hours) == 2):
                raise ValueError(f"staff[{index}].hours must be [start, end], e.g. [\"09:00\", \"18:00\"]")
            hours = (time.fromisoformat(str(hours[0])), time.fromisoformat(str(hours[1])))
        staff.append(Candidate(item["userid"], weight, None if cap is None else int(cap), hours))
    if not staff:
        raise ValueError("routing needs at least one member in 'staff'")
    if len({c.userid for c in staff}) != len(staff):
        raise ValueError("a member appears twice in 'staff'")
    fallback = raw.get("fallback") or []
    if not isinstance(fallback, list) or not all(isinstance(u, str) and u for u in fallback):
        raise ValueError("fallback must be a list of userids")
    return Rule(strategy, tuple(staff), tuple(fallback))
