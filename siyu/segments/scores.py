"""Built-in scores: RFM, lifecycle stage and KOC — the decisions, as plain functions and tables.

The SQL that applies them to a whole workspace lives in ``score_store.py``; these are the rules an
operator can read and a test can check with plain values.

RFM (recency, frequency, monetary) scores are quintiles within the workspace, 5 = best (most
recent, most orders, most spend). Ties share a score (rank-based, not NTILE, which would split a
tie arbitrarily and differently on each database): with most customers at one order, they all get
F = 1. Named segments follow the widely used R×F map (as in Putler's and Klaviyo's RFM guides).

Lifecycle stages (生命周期) are purchase-based: ``new`` (one order, recent), ``active`` (recent
repeat buyer), ``dormant`` (沉睡: past the brand's usual gap between orders), ``churned`` (流失: far
past it), ``won_back`` (召回: bought again recently after having churned). The thresholds default
from the brand's own inter-purchase gaps, so a skincare brand with 60-day refills and a perfume
brand with yearly ones both get sensible stages without configuration.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# (R score, F score) pattern -> segment; first match wins. Covers all 25 cells.
RFM_SEGMENTS: tuple[tuple[str, str], ...] = (
    (r"[1-2][1-2]", "hibernating"),
    (r"[1-2][3-4]", "at_risk"),
    (r"[1-2]5", "cant_lose"),
    (r"3[1-2]", "about_to_sleep"),
    (r"33", "need_attention"),
    (r"[3-4][4-5]", "loyal"),
    (r"41", "promising"),
    (r"51", "new_customers"),
    (r"[4-5][2-3]", "potential_loyalists"),
    (r"5[4-5]", "champions"),
)

RFM_SEGMENT_NAMES: dict[str, tuple[str, str]] = {
    "champions": ("重要价值客户", "Champions"),
    "loyal": ("忠诚客户", "Loyal"),
    "potential_loyalists": ("潜力客户", "Potential loyalists"),
    "new_customers": ("新客户", "New customers"),
    "promising": ("有望客户", "Promising"),
    "need_attention": ("需要关注", "Need attention"),
    "about_to_sleep": ("即将沉睡", "About to sleep"),
    "at_risk": ("流失风险", "At risk"),
    "cant_lose": ("不能失去", "Can't lose them"),
    "hibernating": ("沉睡客户", "Hibernating"),
}

LIFECYCLE_STAGES: dict[str, tuple[str, str]] = {
    "new": ("新客", "New"),
    "active": ("活跃", "Active"),
    "dormant": ("沉睡", "Dormant"),
    "churned": ("流失", "Churned"),
    "won_back": ("召回", "Won back"),
}


def rfm_segment(recency: int, frequency: int) -> str:
    key = f"{recency}{frequency}"
    for pattern, name in RFM_SEGMENTS:
        if re.fullmatch(pattern, key):
            return name
    raise ValueError(f"RFM scores must be 1..5, got R={recency} F={frequency}")


def quintile(rank: int, population: int) -> int:
    """Score 1..5 from a 1-based rank among ``population`` (rank 1 = worst); ties share the lowest rank.

    score = 1 + floor(5 × (rank − 1) / population)
    """
    return 1 + (5 * (rank - 1)) // population


@dataclass(frozen=True)
class LifecycleThresholds:
    active_days: int  # last order within this many days: new / active / won back
    churned_days: int  # last order older than this: churned; in between: dormant
    source: str  # "default" | "data" | "settings"
    gaps: int = 0  # how many inter-purchase gaps the data-driven thresholds came from


DEFAULT_THRESHOLDS = LifecycleThresholds(90, 180, "default")
MIN_GAPS = 30


def thresholds_from_gaps(p75: float | None, p95: float | None, gaps: int,
                         settings: dict[str, Any] | None = None) -> LifecycleThresholds:
    """Active within the 75th percentile of the brand's gaps between orders; churned past twice
    that or the 95th percentile, whichever is later. Clamped to 14..365 and 30..730 days; fewer than
    30 gaps fall back to 90 / 180 days (a cosmetics refill cycle). Workspace settings win."""
    chosen = (settings or {}).get("lifecycle") or {}
    if chosen.get("active_days") and chosen.get("churned_days"):
        return LifecycleThresholds(int(chosen["active_days"]), int(chosen["churned_days"]), "settings", gaps)
    if gaps < MIN_GAPS or p75 is None or p95 is None:
        return LifecycleThresholds(DEFAULT_THRESHOLDS.active_days, DEFAULT_THRESHOLDS.churned_days, "default", gaps)
    active = min(max(math.ceil(p75), 14), 365)
    churned = min(max(math.ceil(max(2 * active, p95)), 30), 730)
    return LifecycleThresholds(active, max(churned, active + 1), "data", gaps)


def lifecycle_stage(*, order_count: int, days_since_last_order: float | None,
                    days_between_last_two_orders: float | None, thresholds: LifecycleThresholds) -> str | None:
    """The stage of one customer (None: never ordered). The SQL in score_store.py is this function."""
    if not order_count or days_since_last_order is None:
        return None
    if days_since_last_order > thresholds.churned_days:
        return "churned"
    if days_since_last_order > thresholds.active_days:
        return "dormant"
    if order_count == 1:
        return "new"
    if days_between_last_two_orders is not None and days_between_last_two_orders > thresholds.churned_days:
        return "won_back"
    return "active"


@dataclass(frozen=True)
class KocWeights:
    """Points per action: a converted invitee is worth far more than a share nobody opened."""

    shares: float = 1.0
    invites_sent: float = 2.0
    invites_accepted: float = 5.0
    invitees_converted: float = 20.0

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> KocWeights:
        chosen = ((settings or {}).get("koc") or {}).get("weights") or {}
        return cls(**{k: float(v) for k, v in chosen.items() if k in cls.__dataclass_fields__})


SHARE_EVENTS = ("Product Shared", "Cart Shared", "Shared")
INVITE_SENT, INVITE_ACCEPTED = "Invite Sent", "Invite Accepted"


def koc_score(weights: KocWeights, *, shares: int, invites_sent: int, invites_accepted: int,
              invitees_converted: int) -> float:
    return (weights.shares * shares + weights.invites_sent * invites_sent
            + weights.invites_accepted * invites_accepted + weights.invitees_converted * invitees_converted)
