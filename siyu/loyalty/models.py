"""Loyalty's values: the programme (growth weights, periods, earning rules, expiry), the tier ladder,
a member, a ledger entry and a lot. The programme and ladder are pydantic models so the API, the CLI
and the store check them the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

TIER_CHANGED = "Tier Changed"
POINTS_EXPIRING = "Points Expiring"
POINTS_CHANGED = "Points Changed"  # a member's balance or growth value changed (siyu.segments.facets)
TIER_AT_RISK = "Tier At Risk"  # nightly: a member who would be downgraded at the period's end
# What loyalty writes about a member by itself: never their activity (siyu.analytics.reports.system_events)
SYSTEM_ENTRIES = frozenset({TIER_CHANGED, POINTS_EXPIRING, POINTS_CHANGED, TIER_AT_RISK})
ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
TASK_COMPLETED = "Task Completed"
EVENT_SOURCE = "loyalty"


class EntryKind(StrEnum):
    EARN = "earn"
    SPEND = "spend"
    EXPIRE = "expire"
    REVERSE = "reverse"  # a refunded order's points taken back
    REPAY = "repay"  # new points paying a refund's debt
    ADJUST = "adjust"  # an operator's correction


class ChangeReason(StrEnum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    GRACE = "grace"  # a downgrade announced: the tier is kept until the grace ends


class Weights(BaseModel):
    """Growth value = spend_per_yuan × revenue + activity_per_day × active days + task × tasks done."""

    spend_per_yuan: float = Field(1.0, ge=0, le=10_000)
    activity_per_day: int = Field(0, ge=0, le=10_000)
    task: int = Field(0, ge=0, le=100_000)


class EventRule(BaseModel):
    event: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=1, le=1_000_000)
    daily_cap: int | None = Field(None, ge=1, le=10_000_000)


class TaskRule(BaseModel):
    task: str = Field(min_length=1, max_length=100)
    points: int = Field(ge=1, le=1_000_000)
    daily_cap: int | None = Field(None, ge=1, le=10_000_000)


class Earning(BaseModel):
    per_yuan: float = Field(1.0, ge=0, le=10_000, description="points per yuan of an Order Completed's revenue")
    order_daily_cap: int | None = Field(None, ge=1, le=100_000_000)
    events: list[EventRule] = Field(default_factory=list, max_length=50)
    tasks: list[TaskRule] = Field(default_factory=list, max_length=50)


class Expiry(BaseModel):
    """``rolling``: a lot expires ``days`` after it was earned; ``fixed``: at the end (local) of the
    first ``month``/``day`` on or after the day it was earned, ``years`` later; ``never``."""

    mode: Literal["rolling", "fixed", "never"] = "rolling"
    days: int = Field(365, ge=1, le=36_500)
    month: int = Field(12, ge=1, le=12)
    day: int = Field(31, ge=1, le=31)
    years: int = Field(0, ge=0, le=10)


class Tier(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    threshold: int = Field(ge=0, le=10**15)
    points_multiplier: int = Field(100, ge=0, le=10_000, description="percent: 150 = 1.5 × points")
    reach_offer_id: int | None = Field(None, ge=1, le=2**63 - 1, description="claimed once on reaching the tier")
    monthly_offer_id: int | None = Field(None, ge=1, le=2**63 - 1, description="claimed each month in the tier")
    priority_service: bool = False


class CatalogueItem(BaseModel):
    """An offer members may buy with points, and its price."""

    offer_id: int = Field(ge=1, le=2**63 - 1)
    points: int = Field(ge=1, le=10**12)


class Programme(BaseModel):
    weights: Weights = Weights.model_validate({})
    evaluation_days: int = Field(365, ge=1, le=3650)
    grace_days: int = Field(30, ge=0, le=3650)
    earning: Earning = Earning.model_validate({})
    expiry: Expiry = Expiry.model_validate({})
    remind_days: int = Field(7, ge=0, le=365, description="Points Expiring this many days before a lot expires")
    catalogue: list[CatalogueItem] = Field(default_factory=list, max_length=200)
    tiers: list[Tier] = Field(min_length=1, max_length=20)
    invite_campaign_id: int | None = Field(None, ge=1, le=2**63 - 1, description=(
        "The member centre's invite campaign (a live referral or task-unlock campaign); none: the newest live "
        "referral campaign"))
    centre_link_days: int = Field(30, ge=1, le=365, description="How long a member-centre link works, in days")

    @model_validator(mode="after")
    def _ladder(self) -> Programme:
        if self.tiers[0].threshold != 0:
            raise ValueError("the first tier is the entry tier: its threshold must be 0")
        for lower, higher in zip(self.tiers, self.tiers[1:], strict=False):
            if higher.threshold <= lower.threshold:
                raise ValueError("tier thresholds must rise strictly, lowest tier first")
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier names must differ")
        return self


@dataclass(frozen=True)
class Member:
    profile_id: int
    growth_value: int
    previous_growth: int
    tier_rank: int
    tier_since: datetime
    downgrade_to: int | None
    downgrade_at: datetime | None
    points_balance: int
    points_debt: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Entry:
    id: int
    profile_id: int
    idempotency_key: str
    kind: EntryKind
    points: int
    order_id: str | None
    reason: str
    details: dict[str, Any] | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value}


@dataclass(frozen=True)
class Lot:
    id: int
    earned: int
    remaining: int
    expires_at: datetime | None
    order_id: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
