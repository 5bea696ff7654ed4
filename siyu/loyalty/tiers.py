"""Tier decisions, pure: which tier a growth value qualifies for, what a new growth value does to a
member now (upgrade at once, or cancel a pending downgrade), what closing an evaluation period does
(announce a downgrade after the grace) and what the end of a grace does.

The nightly job (:mod:`siyu.loyalty.nightly`) applies the same rules as set-based SQL over every
member; ``tests/loyalty/test_nightly.py`` checks that both answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


def qualified_rank(thresholds: Sequence[int], growth: int) -> int:
    """The highest rank whose threshold the growth value reaches (rank 0's threshold is 0)."""
    rank = 0
    for index, threshold in enumerate(thresholds):
        if growth >= threshold:
            rank = index
    return rank


@dataclass(frozen=True)
class GrowthDecision:
    upgrade_to: int | None  # a higher tier, granted at once
    clear_grace: bool  # a pending downgrade no longer applies: the period's growth holds the tier


def on_growth(thresholds: Sequence[int], tier_rank: int, downgrade_pending: bool, growth: int) -> GrowthDecision:
    """Upgrades happen the moment growth reaches a higher threshold; a member in grace who earns the
    threshold of their tier again within the new period keeps it."""
    rank = qualified_rank(thresholds, growth)
    if rank > tier_rank:
        return GrowthDecision(rank, True)
    return GrowthDecision(None, downgrade_pending and rank >= tier_rank)


def period_index(period_start: datetime, evaluation_days: int, now: datetime) -> int:
    """Periods are ``evaluation_days`` long from the programme's start: 0, 1, 2, …"""
    return max(0, (now - period_start) // timedelta(days=evaluation_days))


def period_end(period_start: datetime, evaluation_days: int, index: int) -> datetime:
    return period_start + timedelta(days=evaluation_days * (index + 1))


@dataclass(frozen=True)
class CloseDecision:
    downgrade_to: int | None
    downgrade_at: datetime | None


def on_period_close(thresholds: Sequence[int], tier_rank: int, period_growth: int, ended_at: datetime,
                    grace_days: int) -> CloseDecision:
    """At the end of a period a member whose growth in it fell short of their tier is told they will
    drop to the tier it did reach, ``grace_days`` later (0: at once, by the same nightly run)."""
    rank = qualified_rank(thresholds, period_growth)
    if rank >= tier_rank:
        return CloseDecision(None, None)
    return CloseDecision(rank, ended_at + timedelta(days=grace_days))


def on_grace_end(thresholds: Sequence[int], downgrade_to: int, tier_rank: int, growth: int) -> int:
    """The tier after the grace: the announced one, or higher if the new period's growth reached it."""
    return min(tier_rank, max(downgrade_to, qualified_rank(thresholds, growth)))
