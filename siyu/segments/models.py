"""The segment language as one typed tree (分群 / 人群包).

A definition is JSON (YAML in the CLI). Each node is an object keyed by what it tests:
``all`` / ``any`` / ``not`` combine nodes; ``trait``, ``tag``, ``identifier``, ``consent``,
``event``, ``rollup``, ``score``, ``segment`` and ``loyalty`` test one fact about a person. Leaf nodes that
compare a value share one vocabulary, :class:`Comparison` (``op`` and ``value``), so an
operator who learns ``{"op": "gte", "value": 3}`` on a trait can use it on a rollup, a score or
an event count. See docs/segments.md for the reference with examples.

Relative dates ("within the last 30 days", "before 90 days ago") are kept relative in the tree
and resolved against ``now`` only when the definition is compiled, so a saved segment keeps
meaning "the last 30 days" every day it is refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    BEFORE = "before"  # a date before an absolute or relative instant
    AFTER = "after"
    WITHIN_LAST = "within_last"  # a date within the last N days / hours / weeks
    NOT_WITHIN_LAST = "not_within_last"  # a date older than that, or none at all


NUMBER_OPS = {Op.EQ, Op.NE, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN, Op.IN, Op.NOT_IN}
TEXT_OPS = {Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH}
DATE_OPS = {Op.BEFORE, Op.AFTER, Op.WITHIN_LAST, Op.NOT_WITHIN_LAST, Op.BETWEEN}
PRESENCE_OPS = {Op.EXISTS, Op.NOT_EXISTS}


class ValueKind(StrEnum):
    """What a field holds; decides which operators are allowed and how values are compared."""

    NUMBER = "number"
    TEXT = "text"
    DATE = "date"
    ANY = "any"  # traits: typed by the operator and the value


@dataclass(frozen=True)
class Duration:
    """A length of time written ``30d``, ``12h``, ``4w`` or ``90m`` (minutes)."""

    amount: int
    unit: str  # m | h | d | w

    def delta(self) -> timedelta:
        return {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
                "w": timedelta(weeks=1)}[self.unit] * self.amount

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Ago:
    """An instant relative to evaluation time: ``{"ago": "30d"}`` is now − 30 days."""

    duration: Duration

    def resolve(self, now: datetime) -> datetime:
        return now - self.duration.delta()


Instant = datetime | Ago


@dataclass(frozen=True)
class Comparison:
    op: Op
    value: Any = None  # a number, text, list, Instant, Duration, or (low, high) for between


@dataclass(frozen=True)
class All:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class TraitCondition:
    key: str
    comparison: Comparison


class TagOp(StrEnum):
    HAS = "has"
    HAS_NOT = "has_not"
    ANY_OF = "any_of"
    ALL_OF = "all_of"
    NONE_OF = "none_of"


@dataclass(frozen=True)
class TagCondition:
    op: TagOp
    names: tuple[str, ...]


@dataclass(frozen=True)
class IdentifierCondition:
    """Has (or lacks) an identifier of a type; ``wechat_openid`` matches every app's openid."""

    type: str
    present: bool = True


@dataclass(frozen=True)
class ConsentCondition:
    channel: str
    purpose: str = "marketing"
    granted: bool = True


class Measure(StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    FIRST = "first"  # time of the first occurrence (in the window)
    LAST = "last"


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    comparison: Comparison


@dataclass(frozen=True)
class Window:
    """Which occurrences count: within the last ``duration``, or between two instants; None = ever."""

    within: Duration | None = None
    start: Instant | None = None
    end: Instant | None = None


@dataclass(frozen=True)
class EventCondition:
    name: str
    measure: Measure = Measure.COUNT
    comparison: Comparison = field(default_factory=lambda: Comparison(Op.GTE, 1))
    property: str | None = None  # for sum / avg
    window: Window = field(default_factory=Window)
    where: tuple[PropertyFilter, ...] = ()


class Rollup(StrEnum):
    FIRST_SEEN_AT = "first_seen_at"
    LAST_SEEN_AT = "last_seen_at"
    CREATED_AT = "created_at"
    EVENT_COUNT = "event_count"
    ORDER_COUNT = "order_count"
    TOTAL_SPEND = "total_spend"
    FIRST_ORDER_AT = "first_order_at"
    LAST_ORDER_AT = "last_order_at"
    FIRST_CHANNEL = "first_channel"
    LAST_CHANNEL = "last_channel"


ROLLUP_KINDS: dict[Rollup, ValueKind] = {
    Rollup.FIRST_SEEN_AT: ValueKind.DATE, Rollup.LAST_SEEN_AT: ValueKind.DATE, Rollup.CREATED_AT: ValueKind.DATE,
    Rollup.EVENT_COUNT: ValueKind.NUMBER, Rollup.ORDER_COUNT: ValueKind.NUMBER, Rollup.TOTAL_SPEND: ValueKind.NUMBER,
    Rollup.FIRST_ORDER_AT: ValueKind.DATE, Rollup.LAST_ORDER_AT: ValueKind.DATE,
    Rollup.FIRST_CHANNEL: ValueKind.TEXT, Rollup.LAST_CHANNEL: ValueKind.TEXT,
}


@dataclass(frozen=True)
class RollupCondition:
    rollup: Rollup
    comparison: Comparison


class Score(StrEnum):
    RFM_RECENCY = "rfm_recency"
    RFM_FREQUENCY = "rfm_frequency"
    RFM_MONETARY = "rfm_monetary"
    RFM_SEGMENT = "rfm_segment"
    LIFECYCLE_STAGE = "lifecycle_stage"
    KOC_SCORE = "koc_score"
    P_ALIVE = "p_alive"
    EXPECTED_PURCHASES = "expected_purchases"
    EXPECTED_ORDER_VALUE = "expected_order_value"
    CLV = "clv"
    CHURN_RISK = "churn_risk"


SCORE_KINDS: dict[Score, ValueKind] = {
    score: ValueKind.TEXT if score in (Score.RFM_SEGMENT, Score.LIFECYCLE_STAGE) else ValueKind.NUMBER
    for score in Score
}


@dataclass(frozen=True)
class ScoreCondition:
    score: Score
    comparison: Comparison


class LoyaltyField(StrEnum):
    """What a loyalty condition reads from the person's membership (``loyalty_members``)."""

    TIER = "tier"  # the tier held, compared by rank (a value may name the tier or give its rank)
    POINTS_BALANCE = "points_balance"
    GROWTH_VALUE = "growth_value"


LOYALTY_COLUMNS: dict[LoyaltyField, str] = {LoyaltyField.TIER: "tier_rank",
                                            LoyaltyField.POINTS_BALANCE: "points_balance",
                                            LoyaltyField.GROWTH_VALUE: "growth_value"}
TIER_OPS = {Op.EQ, Op.NE, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN, Op.IN, Op.NOT_IN}


@dataclass(frozen=True)
class LoyaltyCondition:
    """The person's tier, points balance or growth value (会员等级 / 积分 / 成长值). A tier value is a
    tier's name (``"金卡"``) or its rank (0 = the entry tier); names are looked up in the workspace's
    ladder when the definition is evaluated, so "at least 金卡" follows a renumbered ladder. People
    who are not members have no tier, balance or growth value: they match only ``not_exists`` and
    the negative operators, as a missing trait does."""

    field: LoyaltyField
    comparison: Comparison


@dataclass(frozen=True)
class SegmentCondition:
    """Membership of another saved segment (by id), as last evaluated."""

    segment_id: int
    member: bool = True


Node = (All | Any_ | Not | TraitCondition | TagCondition | IdentifierCondition | ConsentCondition
        | EventCondition | RollupCondition | ScoreCondition | SegmentCondition | LoyaltyCondition)
