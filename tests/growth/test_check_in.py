"""Check-in: local days, streaks, tiers granted once per run, make-up cards and their limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.check_in import (
    CheckInHistory,
    CheckInPolicy,
    CheckInRefusal,
    RewardTier,
    grant_cards,
    local_day,
    record_check_in,
)

POLICY = CheckInPolicy(tiers=(RewardTier(3, "three"), RewardTier(7, "seven")), make_up_window_days=7,
                       make_up_per_month=2)
D = date(2026, 11, 1)


def run(history, *days):
    outcome = None
    for day in days:
        outcome = record_check_in(history, day, policy=POLICY)
        history = outcome.history
    return history, outcome


def test_days_are_local_to_the_workspace():
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
    assert local_day(late, "Asia/Shanghai") == date(2026, 12, 1)
    assert local_day(late, "UTC") == date(2026, 11, 30)


def test_a_streak_reaches_its_tier_once():
    history, outcome = run(CheckInHistory(), D, D + timedelta(1))
    assert outcome.streak == 2 and outcome.rewards == ()
    history, outcome = run(history, D + timedelta(2))
    assert outcome.streak == 3 and [t.reward_key for t in outcome.rewards] == ["three"]
    history, outcome = run(history, D + timedelta(3))
    assert outcome.rewards == ()


def test_a_broken_streak_starts_again_and_can_earn_the_tier_again():
    history, _ = run(CheckInHistory(), D, D + timedelta(1), D + timedelta(2))
    history, outcome = run(history, D + timedelta(4), D + timedelta(5))
    assert outcome.streak == 2
    history, outcome = run(history, D + timedelta(6))
    assert [t.reward_key for t in outcome.rewards] == ["three"]


def test_twice_a_day_and_other_days_are_refused():
    history, _ = run(CheckInHistory(), D)
    assert record_check_in(history, D, policy=POLICY).refused is CheckInRefusal.ALREADY_CHECKED_IN
    assert record_check_in(history, D + timedelta(1), today=D + timedelta(2),
                           policy=POLICY).refused is CheckInRefusal.NOT_TODAY
    assert record_check_in(history, D + timedelta(3), today=D + timedelta(2),
                           policy=POLICY).refused is CheckInRefusal.FUTURE_DAY


def test_a_make_up_card_joins_two_runs_and_grants_every_tier_crossed():
    days = [D + timedelta(i) for i in range(8) if i != 3]
    history, outcome = run(CheckInHistory(), *days)
    assert outcome.streak == 4
    history = grant_cards(history, 1)
    filled = record_check_in(history, D + timedelta(3), make_up=True, today=D + timedelta(7), policy=POLICY)
    assert filled.refused is None and filled.streak == 8
    assert [t.reward_key for t in filled.rewards] == ["seven"]
    assert filled.history.cards == 0 and D + timedelta(3) in filled.history.made_up


@pytest.mark.parametrize("cards,back,made_up,refusal", [
    (0, 1, 0, CheckInRefusal.NO_CARD),
    (1, 8, 0, CheckInRefusal.OUTSIDE_WINDOW),
    (3, 1, 2, CheckInRefusal.MONTH_LIMIT),
    (1, 0, 0, CheckInRefusal.TODAY_NEEDS_NO_CARD),
    (1, 1, 1, None),
])
def test_make_up_limits(cards, back, made_up, refusal):
    today = date(2026, 11, 20)
    earlier = frozenset(date(2026, 11, 2 + i) for i in range(made_up))
    history = CheckInHistory(days=earlier, made_up=earlier, cards=cards)
    outcome = record_check_in(history, today - timedelta(back), make_up=True, today=today, policy=POLICY)
    assert outcome.refused is refusal
    assert outcome.history.cards == (cards - 1 if refusal is None else cards)


@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=40), st.integers(0, 5))
@settings(max_examples=300, deadline=None)
def test_streaks_and_rewards_match_a_brute_force_count(steps, cards):
    history = CheckInHistory(cards=cards)
    today = D
    rewarded: list[str] = []
    for offset, make_up in steps:
        today = max(today, D + timedelta(offset))
        day = today - timedelta(offset % 9) if make_up else today
        outcome = record_check_in(history, day, make_up=make_up, today=today, policy=POLICY)
        if outcome.refused is None:
            assert day in outcome.history.days and day not in history.days
            assert outcome.history.cards == history.cards - (1 if make_up else 0) >= 0
        else:
            assert outcome.history == history
        history = outcome.history
        latest = max(history.days) if history.days else None
        expected = 0
        while latest and latest - timedelta(expected) in history.days:
            expected += 1
        assert outcome.streak == expected
        rewarded += [t.reward_key for t in outcome.rewards]
    assert len(history.made_up) <= cards
    months = {(d.year, d.month) for d in history.made_up}
    assert all(sum(1 for d in history.made_up if (d.year, d.month) == m) <= 2 for m in months)
