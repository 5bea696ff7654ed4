"""Leaderboard: dense / standard / earliest ties, prizes by position with caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.leaderboard import Entry, PrizeTier, TieRule, award_prizes, rank

T0 = datetime(2026, 11, 30, tzinfo=UTC)
ENTRIES = [Entry(1, 10, T0 + timedelta(minutes=5)), Entry(2, 10, T0), Entry(3, 8, T0), Entry(4, 0, T0),
           Entry(5, 7, T0)]


@pytest.mark.parametrize("rule,positions", [
    (TieRule.DENSE, [(2, 1), (1, 1), (3, 2), (5, 3), (4, 4)]),
    (TieRule.STANDARD, [(2, 1), (1, 1), (3, 3), (5, 4), (4, 5)]),
    (TieRule.EARLIEST, [(2, 1), (1, 2), (3, 3), (5, 4), (4, 5)]),
])
def test_ties(rule, positions):
    assert [(r.profile_id, r.position) for r in rank(ENTRIES, rule)] == positions


def test_prizes_go_by_position_and_a_tie_shares_the_prize():
    result = award_prizes(rank(ENTRIES, TieRule.DENSE), [PrizeTier(1, 1, "gold"), PrizeTier(2, 3, "silver")])
    assert [(a.profile_id, a.prize_key) for a in result.awards] == [(2, "gold"), (1, "gold"), (3, "silver"),
                                                                    (5, "silver")]


def test_a_capped_tier_gives_the_prize_to_who_got_there_first():
    result = award_prizes(rank(ENTRIES, TieRule.DENSE), [PrizeTier(1, 1, "gold", max_winners=1)])
    assert [a.profile_id for a in result.awards] == [2]
    assert [r.profile_id for r in result.cut_by_cap] == [1]


def test_no_prize_for_a_zero_score_and_one_prize_per_person():
    ranking = rank(ENTRIES, TieRule.EARLIEST)
    result = award_prizes(ranking, [PrizeTier(1, 5, "thanks"), PrizeTier(1, 1, "gold")])
    assert [a.profile_id for a in result.awards] == [2, 1, 3, 5]
    assert all(a.prize_key == "thanks" for a in result.awards)


def test_bad_tier():
    with pytest.raises(ValueError):
        award_prizes([], [PrizeTier(3, 1, "x")])


entries_strategy = st.lists(st.builds(Entry, profile_id=st.integers(1, 10**6), score=st.integers(0, 20),
                                      reached_at=st.integers(0, 10**4).map(lambda m: T0 + timedelta(minutes=m))),
                            max_size=40, unique_by=lambda e: e.profile_id)


@given(entries_strategy, st.sampled_from(list(TieRule)))
@settings(max_examples=300, deadline=None)
def test_ranking_invariants(entries, rule):
    ranked = rank(entries, rule)
    assert sorted(r.profile_id for r in ranked) == sorted(e.profile_id for e in entries)
    assert [r.score for r in ranked] == sorted((e.score for e in entries), reverse=True)
    for a, b in zip(ranked, ranked[1:], strict=False):
        assert a.position <= b.position
        assert (a.position == b.position) == (a.score == b.score and rule is not TieRule.EARLIEST)
    if ranked:
        assert ranked[0].position == 1
    if rule is TieRule.EARLIEST:
        assert [r.position for r in ranked] == list(range(1, len(ranked) + 1))


@given(entries_strategy, st.integers(1, 5), st.integers(1, 5))
@settings(max_examples=300, deadline=None)
def test_capped_tiers_never_give_more_prizes_than_their_cap(entries, cap_first, cap_second):
    ranking = rank(entries, TieRule.DENSE)
    result = award_prizes(ranking, [PrizeTier(1, 1, "gold", max_winners=cap_first),
                                    PrizeTier(2, 3, "silver", max_winners=cap_second)])
    keys = [a.prize_key for a in result.awards]
    assert keys.count("gold") <= cap_first and keys.count("silver") <= cap_second
    assert len({a.profile_id for a in result.awards}) == len(result.awards)
    assert all(a.position <= 3 for a in result.awards)
