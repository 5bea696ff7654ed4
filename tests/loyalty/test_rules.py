"""The pure decisions: tiers by growth value, periods and graces, points an event earns, lot expiry
dates and FIFO consumption."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.loyalty import earning, lots, tiers
from siyu.loyalty.models import Expiry, Lot, Programme

T = [0, 1000, 5000]
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("growth", "rank"), [(0, 0), (999, 0), (1000, 1), (4999, 1), (5000, 2), (10**9, 2)])
def test_qualified_rank_is_the_highest_threshold_reached(growth: int, rank: int) -> None:
    assert tiers.qualified_rank(T, growth) == rank


def test_growth_upgrades_at_once_and_a_member_in_grace_who_earns_the_tier_keeps_it() -> None:
    assert tiers.on_growth(T, 0, False, 1200) == tiers.GrowthDecision(1, True)
    assert tiers.on_growth(T, 1, False, 900) == tiers.GrowthDecision(None, False)  # never down at once
    assert tiers.on_growth(T, 1, True, 1000) == tiers.GrowthDecision(None, True)
    assert tiers.on_growth(T, 1, True, 999) == tiers.GrowthDecision(None, False)


def test_a_period_short_of_the_tier_announces_a_downgrade_after_the_grace() -> None:
    assert tiers.on_period_close(T, 2, 1500, NOW, 30) == tiers.CloseDecision(1, NOW + timedelta(days=30))
    assert tiers.on_period_close(T, 1, 1500, NOW, 30) == tiers.CloseDecision(None, None)
    assert tiers.on_grace_end(T, 0, 2, 1200) == 1  # the new period already reached silver
    assert tiers.on_grace_end(T, 0, 2, 10) == 0
    assert tiers.on_grace_end(T, 0, 1, 9000) == 1  # never above the tier held


def test_periods_count_from_the_programme_start() -> None:
    assert tiers.period_index(NOW, 30, NOW + timedelta(days=29, hours=23)) == 0
    assert tiers.period_index(NOW, 30, NOW + timedelta(days=30)) == 1
    assert tiers.period_end(NOW, 30, 1) == NOW + timedelta(days=60)


def test_order_points_round_down_and_take_the_tier_multiplier() -> None:
    programme = Programme(tiers=[{"name": "a", "threshold": 0}],
                          earning={"per_yuan": 1, "events": [{"event": "Checked In", "points": 5, "daily_cap": 5}],
                                   "tasks": [{"task": "profile", "points": 50}]})
    assert earning.points_for(programme, "Order Completed", {"revenue": 99.99}, 150)[0].points == 149
    assert earning.points_for(programme, "Order Completed", {"revenue": "0.99"}, 100) == []
    assert earning.points_for(programme, "Order Completed", {"revenue": "abc"}, 100) == []
    assert earning.points_for(programme, "Order Completed", {"revenue": True}, 100) == []
    checked = earning.points_for(programme, "Checked In", {}, 200)
    assert [(e.rule, e.points, e.daily_cap) for e in checked] == [("event:Checked In", 10, 5)]
    assert earning.points_for(programme, "Task Completed", {"task": "profile"}, 100)[0].points == 50
    assert earning.points_for(programme, "Task Completed", {"task": "other"}, 100) == []


def test_the_local_day_follows_the_workspace_time_zone() -> None:
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Beijing
    assert earning.local_day(late, "Asia/Shanghai") == earning.local_day(late, "UTC") + 1


@pytest.mark.parametrize(("expiry", "earned", "expected"), [
    (Expiry(mode="rolling", days=30), NOW, NOW + timedelta(days=30)),
    (Expiry(mode="never"), NOW, None),
    # fixed 31 December: the end of 31 Dec 2026 Beijing time = 2026-12-31T16:00Z
    (Expiry(mode="fixed", month=12, day=31), NOW, datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
    (Expiry(mode="fixed", month=12, day=31, years=1), NOW, datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
    # 29 February in a common year is the 28th
    (Expiry(mode="fixed", month=2, day=29), NOW, datetime(2027, 2, 28, 16, 0, tzinfo=UTC)),
    (Expiry(mode="fixed", month=6, day=30), datetime(2027, 6, 30, 15, 0, tzinfo=UTC),
     datetime(2027, 6, 30, 16, 0, tzinfo=UTC)),  # earned 23:00 on the day itself: expires at its end
])
def test_lot_expiry_dates(expiry: Expiry, earned: datetime, expected: datetime | None) -> None:
    assert lots.expires_at(expiry, earned, "Asia/Shanghai") == expected


def test_spending_consumes_the_soonest_expiring_lots_first_and_never_expiring_last() -> None:
    forever = Lot(1, 10, 10, None, None, NOW)
    late = Lot(2, 10, 10, NOW + timedelta(days=90), None, NOW)
    soon = Lot(3, 10, 4, NOW + timedelta(days=3), None, NOW)
    assert lots.consume([forever, late, soon], 15) == [(3, 4), (2, 10), (1, 1)]
    assert lots.consume([forever, late, soon], 0) == []


def test_a_ladder_must_start_at_zero_and_rise() -> None:
    with pytest.raises(ValueError):
        Programme(tiers=[{"name": "a", "threshold": 10}])
    with pytest.raises(ValueError):
        Programme(tiers=[{"name": "a", "threshold": 0}, {"name": "b", "threshold": 0}])
