"""The engine's pure decisions with plain values: wait ends in local time, sticky holdout and
split assignment, entry rules, event matching, date-trait and cron firing."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest

from siyu.journeys import steps
from siyu.journeys.definitions import event_match
from siyu.journeys.models import Branch, DateTrigger, EntryPolicy, EntryRule, Goal, Split, Wait

SHANGHAI = "Asia/Shanghai"
WED_NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 moment in Shanghai, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(("wait", "expected"), [
    (Wait("w", "n", timedelta(hours=3)), local(11, 15)),
    (Wait("w", "n", timedelta(days=1), time(10)), local(12, 10)),  # tomorrow at 10:00, not 24 h later
    (Wait("w", "n", timedelta(days=2), time(20)), local(13, 20)),
    (Wait("w", "n", None, time(10)), local(12, 10)),  # 10:00 has passed today: tomorrow's
    (Wait("w", "n", None, time(18)), local(11, 18)),
    (Wait("w", "n", timedelta(hours=30), time(10)), local(13, 10)),  # 30 h (Thu 18:00), then the next 10:00
    (Wait("w", "n", None, time(10), frozenset({0})), local(16, 10)),  # Monday 10:00
    (Wait("w", "n", timedelta(days=1), time(10), frozenset({5, 6})), local(14, 10)),  # Saturday
    (Wait("w", "n", None, None, frozenset({2})), WED_NOON),  # already a Wednesday
    (Wait("w", "n", None, None, frozenset({4})), local(13, 0)),  # Friday from midnight
])
def test_waits_end_in_the_workspace_time_zone(wait: Wait, expected: datetime) -> None:
    assert steps.resume_at(wait, WED_NOON, SHANGHAI) == expected


def test_holdout_is_sticky_and_about_the_asked_share() -> None:
    chosen = [p for p in range(10_000) if steps.in_holdout(10, 7, p)]
    assert 900 <= len(chosen) <= 1100
    assert chosen == [p for p in range(10_000) if steps.in_holdout(10, 7, p)]  # the same every time
    assert chosen != [p for p in range(10_000) if steps.in_holdout(10, 8, p)]  # another journey, other people
    assert not any(steps.in_holdout(0, 7, p) for p in range(1000))


def test_splits_follow_the_weights_and_stick_to_the_person() -> None:
    split = Split("ab", (Branch(70, "a"), Branch(20, "b"), Branch(10, "c")))
    taken = Counter(steps.split_branch(split, 1, p).next for p in range(20_000))
    assert abs(taken["a"] / 20_000 - 0.7) < 0.02 and abs(taken["c"] / 20_000 - 0.1) < 0.02
    assert all(steps.split_branch(split, 1, p) == steps.split_branch(split, 1, p) for p in range(100))


@pytest.mark.parametrize(("policy", "last", "allowed"), [
    (EntryPolicy(EntryRule.ONCE), None, True),
    (EntryPolicy(EntryRule.ONCE), WED_NOON - timedelta(days=400), False),
    (EntryPolicy(EntryRule.ONCE_PER, timedelta(days=30)), WED_NOON - timedelta(days=29), False),
    (EntryPolicy(EntryRule.ONCE_PER, timedelta(days=30)), WED_NOON - timedelta(days=30), True),
    (EntryPolicy(EntryRule.EVERY_TIME), WED_NOON, True),
])
def test_entry_rules(policy: EntryPolicy, last: datetime | None, allowed: bool) -> None:
    assert steps.entry_allowed(policy, last, WED_NOON) is allowed


def test_events_match_by_name_and_segment_language_filters() -> None:
    match = event_match({"event": "Order Completed", "where": [{"property": "total", "op": "gte", "value": 100},
                                                               {"property": "channel", "op": "in",
                                                                "value": ["tmall", "wechat"]}]}, "trigger")
    assert steps.event_matches(match, "Order Completed", {"total": 120, "channel": "wechat"}, WED_NOON)
    assert not steps.event_matches(match, "Order Completed", {"total": 99, "channel": "wechat"}, WED_NOON)
    assert not steps.event_matches(match, "Order Completed", {"total": "lots", "channel": "wechat"}, WED_NOON)
    assert not steps.event_matches(match, "Order Refunded", {"total": 120, "channel": "wechat"}, WED_NOON)
    assert not steps.event_matches(match, "Order Completed", None, WED_NOON)


def test_conversions_count_within_the_window_after_entering() -> None:
    goal = Goal(event_match({"event": "Order Completed"}, "goal"), timedelta(days=7))
    assert steps.converts(goal, WED_NOON, WED_NOON + timedelta(days=7))
    assert not steps.converts(goal, WED_NOON, WED_NOON + timedelta(days=7, seconds=1))
    assert not steps.converts(goal, WED_NOON, WED_NOON - timedelta(seconds=1))


def test_date_triggers_fire_before_the_date_and_on_29_february() -> None:
    birthday = DateTrigger("birthday", -3, time(10), True)
    assert steps.trait_dates(birthday, date(2026, 11, 8)) == ("11-11",)
    assert steps.trait_dates(DateTrigger("birthday", 0, time(10), True), date(2027, 2, 28)) == ("02-28", "02-29")
    assert steps.trait_dates(DateTrigger("birthday", 0, time(10), True), date(2028, 2, 28)) == ("02-28",)
    assert steps.trait_dates(DateTrigger("trial_ends_at", 2, time(9), False), date(2026, 11, 13)) == ("2026-11-11",)
    assert steps.fire_moment(birthday, date(2026, 11, 8), SHANGHAI) == local(8, 10)


def test_cron_fires_once_for_the_latest_missed_time() -> None:
    monday_ten = "0 10 * * 1"
    assert steps.latest_cron_fire(monday_ten, local(9, 10), local(16, 9, 59), SHANGHAI) is None
    assert steps.latest_cron_fire(monday_ten, local(9, 10), local(16, 10), SHANGHAI) == local(16, 10)
    assert steps.latest_cron_fire(monday_ten, local(1, 0), local(30, 12), SHANGHAI) == local(30, 10)
    assert steps.latest_cron_fire(monday_ten, local(30, 10), local(30, 12), SHANGHAI) is None
