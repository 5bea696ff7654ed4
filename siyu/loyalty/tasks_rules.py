"""Growth-task decisions, pure: which period an event falls in, whether an event counts for a task,
how far a person's profile is complete, and what a step of progress decides (the new progress and
whether this step completes the task)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, assert_never
from zoneinfo import ZoneInfo

from siyu.loyalty.tasks_models import Repeat, TaskDefinition, TaskKind

EPOCH_MONDAY = datetime(1970, 1, 5).date()  # the first Monday after the epoch: weeks start on Monday (China)


def period_of(repeat: Repeat, at: datetime, timezone: str) -> str:
    """The period key progress counts in: ``once``; ``d2026-12-01``; ``w2026-11-30`` (the week's
    Monday); ``m2026-12`` — all in the workspace's local time, so "daily" turns over at local midnight."""
    if repeat is Repeat.ONCE:
        return "once"
    local = at.astimezone(ZoneInfo(timezone)).date()
    match repeat:
        case Repeat.DAILY:
            return f"d{local.isoformat()}"
        case Repeat.WEEKLY:
            monday = local - timedelta(days=(local - EPOCH_MONDAY).days % 7)
            return f"w{monday.isoformat()}"
        case Repeat.MONTHLY:
            return f"m{local.year:04d}-{local.month:02d}"
        case _:
            assert_never(repeat)


def counts(definition: TaskDefinition, name: str, properties: dict[str, Any] | None, key: str | None = None) -> bool:
    """Does an event named ``name`` make progress on the task (whose key is ``key``)? Its name is the
    task's counted event and every property in the task's filter is equal (a number filter matches
    the same number sent as a string, since callbacks pass WeChat's fields as strings). An operator's
    attendance mark counts for the task it was made on only: two attend_event tasks (two events)
    both count ``Event Attended``, and marking one must not complete the other."""
    if definition.counted_event() != name:
        return False
    given = properties or {}
    if key is not None and given.get("marked_by") == "operator" and given.get("task") not in (None, key):
        return False
    return all(_same(given.get(field), wanted) for field, wanted in definition.filter.items())


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value is wanted
    if isinstance(wanted, int | float) and isinstance(value, str):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return bool(value == wanted)


def filled(value: Any) -> bool:
    """A trait counts as filled when it holds something: not missing, None, blank text or an empty list."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return True


def profile_progress(required: list[str], traits: dict[str, Any]) -> int:
    """How many of the required traits the profile has filled."""
    return sum(1 for name in required if filled(traits.get(name)))


@dataclass(frozen=True)
class Step:
    progress: int  # the new progress, never above the target
    completes: bool  # this step reaches the target for the first time in the period


def step(kind: TaskKind, current: int, target: int, completed: bool, value: int) -> Step:
    """A step of progress: ``value`` is one more event (added), or for ``profile_complete`` the
    number of traits now filled (it replaces the count, and never lowers it: a completed profile
    stays completed). A completed period stays completed and never completes twice."""
    replaces = kind is TaskKind.PROFILE_COMPLETE
    new = max(current, min(value, target)) if replaces else min(current + value, target)
    return Step(progress=new, completes=not completed and new >= target)


def merged(kind: TaskKind, survivor: int, merged_away: int, target: int) -> int:
    """Progress of two people merged into one: counts add up (both did the steps), a profile's
    completeness is the higher of the two (their traits are merged, not summed); never above the target."""
    if kind is TaskKind.PROFILE_COMPLETE:
        return min(max(survivor, merged_away), target)
    return min(survivor + merged_away, target)


def reward_key(task_id: int, period: str, profile_id: int) -> str:
    """The idempotency key of a completion's points entry and offer claim: one per person, task and period."""
    return f"task:{task_id}:{period}:{profile_id}"
