"""Journeys (营销自动化) as plain data: a parsed definition, its triggers and steps, and the states
of a journey and of one person's entry into it.

A definition is JSON (YAML in the CLI); :mod:`siyu.journeys.definitions` reads it into these
frozen dataclasses, with an error naming the step and field for anything it refuses. Event
filters and condition branches are the segment language (:mod:`siyu.segments.models`), so one
vocabulary describes people everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

from siyu.messaging.models import Channel, Purpose
from siyu.segments.models import EventCondition, Node

END = "end"  # the target that finishes an entry as completed


class JourneyStatus(StrEnum):
    DRAFT = "draft"  # never published: nobody enters
    LIVE = "live"  # the latest version takes new entries; entries advance
    PAUSED = "paused"  # nobody enters; entries inside hold where they are until resumed
    ARCHIVED = "archived"  # finished for good: entries still inside were exited


class EntryStatus(StrEnum):
    ACTIVE = "active"  # its current step runs when due_at comes
    WAITING = "waiting"  # inside a wait (or the holdout's observation window) until due_at or an event
    COMPLETED = "completed"  # went through to the end
    EXITED = "exited"  # an exit step, a failure, or the journey was archived; exit_reason says which
    CONVERTED = "converted"  # a goal event ended it (may follow completed, within the conversion window)

    @property
    def final(self) -> bool:
        return self not in (EntryStatus.ACTIVE, EntryStatus.WAITING)


class Cohort(StrEnum):
    TREATMENT = "treatment"
    HOLDOUT = "holdout"  # the control group: entered and measured, never touched


class EntryRule(StrEnum):
    ONCE = "once"  # once ever
    ONCE_PER = "once_per"  # at most once per period (rolling, from the last entry)
    EVERY_TIME = "every_time"  # every trigger enters, even while an earlier entry is still inside


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


# --- triggers -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventMatch:
    """An event by name with property filters: a segment-language event node, evaluated on one event."""

    name: str
    condition: EventCondition


@dataclass(frozen=True)
class EventTrigger:
    match: EventMatch


@dataclass(frozen=True)
class SegmentTrigger:
    segment_id: int
    on: str  # entered | exited


@dataclass(frozen=True)
class DateTrigger:
    """A date trait (``birthday``, ``member_since``) shifted by ``offset_days`` at local ``at``; yearly
    matches the month and day every year (anniversaries), else the date itself, once."""

    trait: str
    offset_days: int
    at: time
    yearly: bool


@dataclass(frozen=True)
class HolidayTrigger:
    """A holiday of :mod:`siyu.journeys.calendar` (Spring Festival, Double 11, a workspace's own date)
    shifted by ``offset_days`` at local ``at``: everyone (or a saved segment's members) enters once,
    on that day in their own time zone."""

    holiday: str
    offset_days: int
    at: time
    segment_id: int | None = None


@dataclass(frozen=True)
class ScheduleTrigger:
    """Cron in the workspace time zone; each firing enters the segment's members."""

    cron: str
    segment_id: int


@dataclass(frozen=True)
class ApiTrigger:
    """Entered only through ``POST /api/journeys/{id}/entries`` (any live journey accepts those too)."""


Trigger = EventTrigger | SegmentTrigger | DateTrigger | HolidayTrigger | ScheduleTrigger | ApiTrigger


# --- steps ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Wait:
    id: str
    next: str
    duration: timedelta | None = None
    at: time | None = None  # then until this local time of day
    weekdays: frozenset[int] | None = None  # and one of these days (Monday 0)


@dataclass(frozen=True)
class WaitFor:
    id: str
    match: EventMatch
    timeout: timedelta
    on_event: str
    on_timeout: str


@dataclass(frozen=True)
class Condition:
    id: str
    tree: Node
    raw: dict[str, Any]  # as written: checked against the workspace's segments when published
    then: str
    otherwise: str


@dataclass(frozen=True)
class Branch:
    weight: int
    next: str


@dataclass(frozen=True)
class Split:
    id: str
    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class Send:
    id: str
    next: str
    channel: Channel
    purpose: Purpose
    content: dict[str, Any] | None = None
    template: dict[str, Any] | None = None


@dataclass(frozen=True)
class Tag:
    id: str
    next: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetTrait:
    id: str
    next: str
    traits: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reward:
    """Give a coupon or points through a registered reward provider (:mod:`siyu.journeys.rewards`)."""

    id: str
    next: str
    kind: str  # coupon | points
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Webhook:
    id: str
    next: str
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    id: str
    next: str
    title: str
    note: str | None = None
    due: timedelta | None = None


@dataclass(frozen=True)
class Exit:
    id: str
    reason: str = "exit_step"


Step = Wait | WaitFor | Condition | Split | Send | Tag | SetTrait | Reward | Webhook | Task | Exit


# --- the journey ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryPolicy:
    rule: EntryRule = EntryRule.ONCE
    period: timedelta | None = None  # for once_per


@dataclass(frozen=True)
class Goal:
    """Goal events end the entry as converted when they come within ``within`` of entering."""

    match: EventMatch
    within: timedelta


@dataclass(frozen=True)
class Definition:
    trigger: Trigger
    steps: tuple[Step, ...]
    entry: EntryPolicy = EntryPolicy()
    goal: Goal | None = None
    holdout_percent: float = 0.0
    policy: dict[str, Any] | None = None  # contact-policy overrides for this journey's messages

    @property
    def first(self) -> str:
        return self.steps[0].id

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True)
class Journey:
    id: int
    workspace_id: int
    name: str
    description: str | None
    status: JourneyStatus
    draft: dict[str, Any]
    version: int  # latest published version, 0 when none
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class Version:
    workspace_id: int
    journey_id: int
    version: int
    definition: dict[str, Any]
    after_event_id: int
    published_by: str | None
    published_at: datetime


@dataclass
class Entry:
    id: int
    workspace_id: int
    journey_id: int
    version: int
    profile_id: int
    entry_key: str
    cohort: Cohort
    status: EntryStatus
    step: str | None
    step_started_at: datetime | None
    due_at: datetime | None
    woken_by: int | None
    attempts: int
    after_event_id: int
    context: dict[str, Any]
    entered_at: datetime
    finished_at: datetime | None = None
    converted_at: datetime | None = None
    exit_reason: str | None = None
