"""Campaigns as plain values: kinds, states, and the rows the store returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class CampaignKind(StrEnum):
    REFERRAL = "referral"  # 老带新
    ASSIST = "assist"  # 助力
    GROUP_BUY = "group_buy"  # 拼团
    BARGAIN = "bargain"  # 砍价
    SPLIT_COUPON = "split_coupon"  # 裂变优惠券
    TASK_UNLOCK = "task_unlock"  # 任务宝
    LEADERBOARD = "leaderboard"  # 排行榜
    CHECK_IN = "check_in"  # 签到


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    ENDED = "ended"


class CreditKind(StrEnum):
    INVITE = "invite"  # referral, task unlock, leaderboard
    HELP = "help"  # assist, bargain (a cut)
    JOIN = "join"  # a group buy's member, a split coupon's claimer


class CreditStatus(StrEnum):
    PENDING = "pending"  # waits for the invitee's qualifying action
    HELD = "held"  # waits for an operator's review (anti-fraud said "review")
    CREDITED = "credited"
    DENIED = "denied"  # anti-fraud said "deny", or an operator rejected it
    REVOKED = "revoked"  # the invitee unfollowed or left the group within the window
    EXPIRED = "expired"  # the attribution window passed without the qualifying action


class Phase(StrEnum):
    """Where a participant's own mechanic stands (group, bargain, split pool, check-in history)."""

    OPEN = "open"
    DONE = "done"  # filled, target reached, pool claimed
    FAILED = "failed"  # the deadline came first


class RewardStatus(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"  # budget spent, tier stock gone, the offer refused (error_code says which)
    VOIDED = "voided"


@dataclass(frozen=True)
class Campaign:
    id: int
    token: str
    kind: CampaignKind
    name: str
    status: CampaignStatus
    rules: dict[str, Any]
    operator: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    budget_fen: int | None
    settled_at: datetime | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    def is_open(self, now: datetime) -> bool:
        """Live and inside its window: the only time anyone may join, invite or help."""
        return self.status is CampaignStatus.LIVE and self.starts_at <= now < self.ends_at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Participant:
    id: int
    campaign_id: int
    profile_id: int
    token: str
    progress: int
    link_opens: int
    new_customer: bool
    joined_at: datetime
    progress_at: datetime
    state: dict[str, Any] | None = None
    phase: str | None = None  # open | done | failed, for the mechanics with a state of their own
    deadline: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Credit:
    id: int
    campaign_id: int
    participant_id: int
    profile_id: int
    kind: CreditKind
    unique_key: str
    status: CreditStatus
    new_customer: bool
    risk_score: int | None
    reasons: list[Any] | None
    decision_id: int | None
    created_at: datetime
    qualified_at: datetime | None
    credited_at: datetime | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reward:
    id: int
    campaign_id: int
    profile_id: int
    reward_key: str
    credit_id: int | None
    offer_id: int | None
    claim_id: int | None
    cost_fen: int
    status: RewardStatus
    error_code: str | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
