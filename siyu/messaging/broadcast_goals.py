"""A broadcast's goal and holdout: did the message make people do something, against people it was kept from.

The goal is the journeys' (``{"event", "where"?, "within"}``: an event with property filters, within a
window after the message). A member converts when a goal event of theirs comes within the window
after their message was sent; the revenue is what their goal events in the window carry
(``revenue``, else ``total``, as the Segment e-commerce spec names them).

The holdout (``holdout_percent``, 0-50) is a fixed random share of the members the contact policy
would have sent to, chosen by hashing the broadcast and the person: their row is written ``stopped``
with :data:`HOLDOUT_REASON` when the broadcast fans out, so the control group is on record before
anyone is sent anything, and is measured from that moment. Kept back after the policy's verdict, not
before, so both groups are people the broadcast could reach and the lift compares like with like.

Pure decisions here; the rows are read by :mod:`siyu.messaging.broadcast_store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from siyu.journeys.definition_values import duration, event_match
from siyu.journeys.errors import InvalidJourney
from siyu.journeys.models import Goal
from siyu.journeys.stats import lift
from siyu.journeys.steps import BUCKETS, bucket, event_matches
from siyu.messaging.outbox import MessagingError

HOLDOUT_REASON = "broadcast.holdout"
MAX_HOLDOUT = 50
DEFAULT_WITHIN = "7d"
MAX_WITHIN = timedelta(days=365)  # a year: past that a message is not what made anyone buy
TREATMENT, HOLDOUT = "treatment", "holdout"


def checked_goal(raw: Any) -> dict[str, Any] | None:
    """The goal as stored (``within`` filled in), or a 422 naming the field; None for no goal."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MessagingError("'goal' must be an object such as {\"event\": \"Order Completed\", \"within\": \"7d\"}.",
                             details={"field": "goal"})
    stored = {**raw, "within": raw.get("within", DEFAULT_WITHIN)}
    try:
        parsed = goal_of(stored)
    except InvalidJourney as error:
        raise MessagingError(error.message, details={"field": error.details.get("path") or "goal"}) from None
    if parsed.within > MAX_WITHIN:
        raise MessagingError(f"goal.within: at most {MAX_WITHIN.days} days after the message.",
                             details={"field": "goal.within"})
    return stored


def goal_of(stored: dict[str, Any]) -> Goal:
    return Goal(event_match(stored, "goal", extra=frozenset({"within"})), duration(stored["within"], "goal.within"))


def checked_holdout(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= MAX_HOLDOUT:
        raise MessagingError(f"'holdout_percent' must be a percentage from 0 to {MAX_HOLDOUT}.",
                             details={"field": "holdout_percent"})
    return float(raw)


def held_out(percent: float, broadcast_id: int, profile_id: int) -> bool:
    """Sticky: one person is always in (or out of) one broadcast's control group, however often its
    fan-out is run again."""
    return percent > 0 and bucket("broadcast-holdout", broadcast_id, profile_id) < round(percent * BUCKETS / 100)


def revenue_of(properties: Mapping[str, Any] | None) -> float:
    for key in ("revenue", "total"):
        value = (properties or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def measure(goal: dict[str, Any], members: Iterable[tuple[int, str, datetime]],
            goal_events: Iterable[tuple[int, datetime, Mapping[str, Any] | None]], now: datetime,
            holdout_percent: float) -> dict[str, Any]:
    """Conversions per group. ``members``: (person, group, measured from); ``goal_events``: the goal
    event's occurrences (person, time, properties) over the whole measuring period, any order."""
    parsed = goal_of(goal)
    since: dict[int, tuple[str, datetime]] = {pid: (group, at) for pid, group, at in members}
    converted: dict[int, float] = {}
    for pid, at, properties in goal_events:
        start = since.get(pid)
        if start is None or not start[1] <= at <= start[1] + parsed.within:
            continue
        if event_matches(parsed.match, parsed.match.name, properties, at):
            converted[pid] = converted.get(pid, 0.0) + revenue_of(properties)
    groups: dict[str, dict[str, Any]] = {}
    for name in (TREATMENT, HOLDOUT):
        people = [pid for pid, (group, _) in since.items() if group == name]
        done = [pid for pid in people if pid in converted]
        groups[name] = {"people": len(people), "converted": len(done),
                        "rate": len(done) / len(people) if people else None,
                        "revenue": round(sum(converted[pid] for pid in done), 2)}
    last = max((at for _, at in since.values()), default=None)
    return {"goal": goal, "holdout_percent": holdout_percent, **groups,
            "lift": lift(groups[TREATMENT]["rate"], groups[HOLDOUT]["rate"]),
            "counting": last is None or last + parsed.within > now}
