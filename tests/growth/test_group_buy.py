"""Group buy: open → filled | failed at the deadline, auto-fill, voiding on failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.group_buy import (
    EffectKind,
    GroupStatus,
    Join,
    JoinRefusal,
    Leave,
    Tick,
    decide,
    open_group,
)

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
DEADLINE = T0 + timedelta(hours=24)


def test_the_last_member_in_time_fills_the_group_and_confirms_everyone():
    state = open_group(leader_id=1, size=3, deadline=DEADLINE)
    state = decide(state, Join(2), T0).state
    step = decide(state, Join(3), DEADLINE - timedelta(seconds=1))
    assert step.state.status is GroupStatus.FILLED
    assert [(e.kind, e.profile_ids) for e in step.effects] == [(EffectKind.CONFIRM_CLAIMS, (1, 2, 3))]
    assert decide(step.state, Join(4), T0).refused is JoinRefusal.NOT_OPEN


def test_a_join_at_the_deadline_is_too_late_and_the_group_fails_with_its_claims_voided():
    state = decide(open_group(leader_id=1, size=3, deadline=DEADLINE), Join(2), T0).state
    step = decide(state, Join(3), DEADLINE)
    assert step.refused is JoinRefusal.EXPIRED
    assert step.state.status is GroupStatus.FAILED
    assert [(e.kind, e.profile_ids) for e in step.effects] == [(EffectKind.VOID_CLAIMS, (1, 2))]


def test_tick_before_the_deadline_changes_nothing_and_after_it_fails_once():
    state = open_group(leader_id=1, size=2, deadline=DEADLINE)
    assert decide(state, Tick(), T0).state == state
    failed = decide(state, Tick(), DEADLINE).state
    assert failed.status is GroupStatus.FAILED
    assert decide(failed, Tick(), DEADLINE + timedelta(days=1)).effects == ()


@pytest.mark.parametrize("members,within,status,auto", [
    (4, 1, GroupStatus.FILLED, 1), (3, 2, GroupStatus.FILLED, 2), (3, 1, GroupStatus.FAILED, 0),
    (1, 0, GroupStatus.FAILED, 0),
])
def test_auto_fill_only_within_the_allowed_gap(members, within, status, auto):
    state = open_group(leader_id=1, size=5, deadline=DEADLINE, auto_fill_within=within)
    for member in range(2, members + 1):
        state = decide(state, Join(member), T0).state
    step = decide(state, Tick(), DEADLINE)
    assert step.state.status is status and step.state.auto_filled == auto


def test_members_may_leave_an_open_group_but_not_the_leader():
    state = decide(open_group(leader_id=1, size=3, deadline=DEADLINE), Join(2), T0).state
    assert decide(state, Leave(1), T0).refused is JoinRefusal.LEADER_CANNOT_LEAVE
    assert decide(state, Leave(9), T0).refused is JoinRefusal.NOT_MEMBER
    step = decide(state, Leave(2), T0)
    assert step.state.members == (1,) and step.effects[0].kind is EffectKind.VOID_CLAIMS
    assert decide(state, Join(2), T0).refused is JoinRefusal.ALREADY_MEMBER


@st.composite
def histories(draw):
    size = draw(st.integers(2, 6))
    within = draw(st.integers(0, size - 1))
    steps = draw(st.lists(st.tuples(st.sampled_from(["join", "leave", "tick"]), st.integers(1, 8),
                                    st.integers(0, 30)), max_size=25))
    return size, within, steps


@given(histories())
@settings(max_examples=300, deadline=None)
def test_any_sequence_keeps_the_invariants(history):
    size, within, steps = history
    state = open_group(leader_id=1, size=size, deadline=DEADLINE, auto_fill_within=within)
    now = T0
    confirmed = failed = 0
    for kind, who, minutes in steps:
        now += timedelta(hours=minutes)
        event = Join(who) if kind == "join" else Leave(who) if kind == "leave" else Tick()
        before = state
        step = decide(state, event, now)
        state = step.state
        assert len(state.members) <= state.size and state.members[0] == 1
        assert len(set(state.members)) == len(state.members)
        if before.status is not GroupStatus.OPEN:
            assert step.state == before and step.effects == ()  # final states never move
        for effect in step.effects:
            if effect.kind is EffectKind.CONFIRM_CLAIMS:
                confirmed += 1
                assert state.status is GroupStatus.FILLED and effect.profile_ids == state.members
        if state.status is GroupStatus.FAILED and before.status is GroupStatus.OPEN:
            failed += 1  # the timeout voids every member's claim, once
            assert [(e.kind, e.profile_ids) for e in step.effects] == [(EffectKind.VOID_CLAIMS, before.members)]
        if state.status is GroupStatus.FILLED:
            assert len(state.members) + state.auto_filled == state.size
            assert state.auto_filled <= within
    assert confirmed + failed <= 1
    assert not (confirmed and state.status is GroupStatus.FAILED)
