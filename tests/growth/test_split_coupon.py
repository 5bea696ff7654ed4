"""Split coupons: exact sum, minimum each, the sharer's share first, one share per person."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.split_coupon import ShareRefusal, claim_share, open_split, split_pool


@given(st.integers(1, 100), st.integers(0, 500), st.integers(0, 100_000), st.integers(0, 2**32))
@settings(max_examples=400, deadline=None)
def test_split_is_exact_and_above_the_minimum(shares, minimum, extra, seed):
    pool = shares * minimum + extra
    amounts = split_pool(pool_fen=pool, shares=shares, minimum_fen=minimum, seed=seed)
    assert len(amounts) == shares and sum(amounts) == pool and min(amounts) >= minimum
    assert amounts == split_pool(pool_fen=pool, shares=shares, minimum_fen=minimum, seed=seed)


def test_split_is_random_not_equal():
    amounts = split_pool(pool_fen=10_000, shares=10, minimum_fen=100, seed=3)
    assert len(set(amounts)) > 3


def test_pool_too_small_for_the_minimum():
    with pytest.raises(ValueError):
        split_pool(pool_fen=99, shares=10, minimum_fen=10, seed=0)


def test_claims_take_shares_in_order_once_each_sharer_first():
    state = open_split(sharer_id=1, pool_fen=1000, shares=3, minimum_fen=10, seed="x")
    assert state.claimed_by == (1,)
    state, again = claim_share(state, 1)
    assert again.refused is ShareRefusal.ALREADY_CLAIMED and again.index == 0
    state, first = claim_share(state, 2)
    assert (first.index, first.amount_fen) == (1, state.amounts[1])
    state, second = claim_share(state, 3)
    state, third = claim_share(state, 4)
    assert second.index == 2 and third.refused is ShareRefusal.ALL_CLAIMED
    assert sum(state.amounts) == 1000
