"""Bargain cuts: exact at the N-th helper, never below target, each ≥ 1 fen, shrinking, seeded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.bargain import BargainState, CutRefusal, apply_cut, is_expired, next_cut, plan_cuts

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


@st.composite
def bargains(draw):
    helpers = draw(st.integers(1, 60))
    target = draw(st.integers(0, 10_000))
    total = draw(st.integers(helpers, 50_000))
    return BargainState(start_price_fen=target + total, target_price_fen=target, expected_helpers=helpers,
                        seed=draw(st.integers(0, 2**32)))


@given(bargains())
@settings(max_examples=300, deadline=None)
def test_plan_sums_exactly_and_shrinks(state):
    cuts = plan_cuts(start_price_fen=state.start_price_fen, target_price_fen=state.target_price_fen,
                     expected_helpers=state.expected_helpers, seed=state.seed)
    assert len(cuts) == state.expected_helpers
    assert sum(cuts) == state.start_price_fen - state.target_price_fen
    assert all(c >= 1 for c in cuts)
    assert cuts == sorted(cuts, reverse=True)


@given(bargains(), st.lists(st.booleans(), min_size=60, max_size=60))
@settings(max_examples=300, deadline=None)
def test_live_cuts_reach_the_target_exactly_at_the_nth_helper(state, newness):
    prices = []
    for i in range(state.expected_helpers):
        cut = next_cut(state, helper_is_new=newness[i], helper_id=i)
        assert cut.refused is None
        assert cut.amount_fen >= 1
        assert cut.price_after_fen >= state.target_price_fen
        state = apply_cut(state, cut, helper_id=i)
        prices.append(state.price_fen)
        assert cut.reached_target == (i == state.expected_helpers - 1)
    assert state.price_fen == state.target_price_fen
    assert prices == sorted(prices, reverse=True)
    after = next_cut(state, helper_is_new=True, helper_id=999)
    assert after.refused is CutRefusal.TARGET_REACHED and after.amount_fen == 0


@given(bargains())
@settings(max_examples=200, deadline=None)
def test_without_new_customers_early_cuts_are_larger_than_late_ones(state):
    cuts = []
    for _ in range(state.expected_helpers):
        cut = next_cut(state, helper_is_new=False)
        cuts.append(cut.amount_fen)
        state = apply_cut(state, cut)
    half = len(cuts) // 2
    if half and sum(cuts) >= 4 * len(cuts):
        assert sum(cuts[:half]) / half >= sum(cuts[-half:]) / half


def test_a_new_customer_cuts_more_and_the_total_does_not_move():
    state = BargainState(start_price_fen=10_000, target_price_fen=1_000, expected_helpers=10, seed="s")
    old = next_cut(state, helper_is_new=False)
    new = next_cut(state, helper_is_new=True)
    assert new.amount_fen == 2 * old.amount_fen and new.bonus_fen == old.amount_fen
    state = apply_cut(state, new)
    for _ in range(9):
        state = apply_cut(state, next_cut(state, helper_is_new=False))
    assert state.price_fen == 1_000


def test_the_new_customer_bonus_leaves_a_fen_for_every_later_helper():
    state = BargainState(start_price_fen=20, target_price_fen=10, expected_helpers=9, seed=1,
                         new_customer_multiplier=10)
    cut = next_cut(state, helper_is_new=True)
    assert cut.amount_fen == 10 - 8


def test_same_seed_same_cuts_other_seed_other_cuts():
    args = dict(start_price_fen=100_000, target_price_fen=0, expected_helpers=20)
    assert plan_cuts(**args, seed=7) == plan_cuts(**args, seed=7)
    assert plan_cuts(**args, seed=7) != plan_cuts(**args, seed=8)


def test_deadline_and_one_cut_per_helper():
    state = BargainState(start_price_fen=1000, target_price_fen=0, expected_helpers=3, seed=1,
                         deadline=T0 + timedelta(hours=24))
    assert not is_expired(state, T0)
    assert is_expired(state, T0 + timedelta(hours=24))
    assert next_cut(state, helper_is_new=False, now=T0 + timedelta(hours=25)).refused is CutRefusal.EXPIRED
    state = apply_cut(state, next_cut(state, helper_is_new=False, helper_id=5), helper_id=5)
    assert next_cut(state, helper_is_new=False, helper_id=5).refused is CutRefusal.ALREADY_HELPED


@pytest.mark.parametrize("start,target,helpers", [(100, 100, 1), (10, 5, 6), (10, 0, 0), (10, -1, 2)])
def test_impossible_bargains_are_refused(start, target, helpers):
    with pytest.raises(ValueError):
        plan_cuts(start_price_fen=start, target_price_fen=target, expected_helpers=helpers, seed=0)
