"""Growth tasks' values (成长任务, issue 7 part 3): a task's definition — what a person does to make
progress (its kind, the event it counts, the target), how often it can be done again (the repeat
period), when it runs, and what completing it gives (points, an offer, and growth value through
loyalty's existing ``Task Completed`` rules) — and a person's progress on it.

The definition is a pydantic model so the API, the CLI and the console check it the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

ATTENDED = "Event Attended"  # what an operator's attendance mark writes, and attend_event's default
KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class TaskKind(StrEnum):
    PROFILE_COMPLETE = "profile_complete"  # the required traits present: progress = filled / required
    FOLLOW_ACCOUNT = "follow_account"  # the WeChat official account's follow (``Followed``)
    JOIN_GROUP = "join_group"  # a customer group join (``Group Member Joined``)
    INVITE_FRIENDS = "invite_friends"  # credited invites in growth campaigns, or a configurable event
    ATTEND_EVENT = "attend_event"  # ``Event Attended`` (an operator can mark it)
    WRITE_REVIEW = "write_review"  # ``Review Written``
    CUSTOM = "custom"  # any event, with an optional property filter


class Repeat(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class InviteSource(StrEnum):
    CAMPAIGNS = "campaigns"  # invites credited in siyu.growth campaigns, counted for the inviter
    EVENT = "event"  # an event on the inviter's own timeline (the task's ``event``)


# The event each kind counts unless the task names another (the names the callbacks and the demo write).
DEFAULT_EVENTS: dict[TaskKind, str] = {
    TaskKind.FOLLOW_ACCOUNT: "Followed",
    TaskKind.JOIN_GROUP: "Group Member Joined",
    TaskKind.INVITE_FRIENDS: "Invite Sent",
    TaskKind.ATTEND_EVENT: ATTENDED,
    TaskKind.WRITE_REVIEW: "Review Written",
}
ONE_STEP = (TaskKind.FOLLOW_ACCOUNT, TaskKind.JOIN_GROUP)  # done once it happens: target 1


class TaskDefinition(BaseModel):
    """What the API and CLI accept to create a task (and, partly, to update one)."""

    key: str = Field(pattern=KEY_PATTERN, description="stable name: the Task Completed event's `task`")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    kind: TaskKind
    event: str | None = Field(None, min_length=1, max_length=200, description="the event counted (kind default)")
    filter: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=10,
                                                       description="properties the event must have")
    traits: list[str] = Field(default_factory=list, max_length=30, description="profile_complete: required traits")
    source: InviteSource = InviteSource.CAMPAIGNS
    target: int = Field(1, ge=1, le=10_000)
    repeat: Repeat = Repeat.ONCE
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    points: int = Field(0, ge=0, le=1_000_000)
    offer_id: int | None = Field(None, ge=1, le=2**63 - 1)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> TaskDefinition:
        if self.kind is TaskKind.PROFILE_COMPLETE:
            if not self.traits:
                raise ValueError("a profile_complete task lists the traits it requires in 'traits'")
            if len(set(self.traits)) != len(self.traits) or any(not t or len(t) > 100 for t in self.traits):
                raise ValueError("'traits' are distinct names of 1-100 characters")
            self.target = len(self.traits)
        elif self.kind is TaskKind.CUSTOM and self.event is None:
            raise ValueError("a custom task names the 'event' it counts")
        if self.kind in ONE_STEP:
            self.target = 1
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("'ends_at' must be after 'starts_at'")
        return self

    def counted_event(self) -> str | None:
        """The event name that makes progress (None: profile_complete, or invites from campaigns)."""
        if self.kind is TaskKind.PROFILE_COMPLETE:
            return None
        if self.kind is TaskKind.INVITE_FRIENDS and self.source is InviteSource.CAMPAIGNS and self.event is None:
            return None
        return self.event or DEFAULT_EVENTS.get(self.kind)


UPDATABLE = {"name_zh", "name_en", "event", "filter", "traits", "source", "target", "repeat", "starts_at", "ends_at",
             "points", "offer_id", "active"}  # not key or kind: progress and past completions depend on them


@dataclass(frozen=True)
class Task:
    id: int
    definition: TaskDefinition
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return self.definition.key

    def live_at(self, at: datetime) -> bool:
        """Active, and ``at`` inside [starts_at, ends_at)."""
        d = self.definition
        return d.active and (d.starts_at is None or at >= d.starts_at) and (d.ends_at is None or at < d.ends_at)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.definition.model_dump(mode="json"),
                "counted_event": self.definition.counted_event(), "created_at": self.created_at,
                "updated_at": self.updated_at}


class RewardStatus(StrEnum):
    PENDING = "pending"  # decided (the person completed the task), not delivered yet
    DELIVERED = "delivered"  # points credited, Task Completed written, the offer claimed (or refused)


@dataclass(frozen=True)
class Progress:
    task_id: int
    profile_id: int
    period: str
    progress: int
    target: int
    completed_at: datetime | None
    updated_at: datetime

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "completed": self.completed}
