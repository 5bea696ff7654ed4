"""Group buy (拼团): N people must join within T hours for the group price. Pure state machine.

States: ``open`` → ``filled`` (the size-th member joined in time) | ``failed`` (the deadline came
first). ``filled`` and ``failed`` are final. Any event at or after the deadline first settles the
timeout, so a join that arrives one second late never fills a group that should have failed, and
the worker's ``Tick`` and a late ``Join`` decide the same thing.

Optional auto-fill (模拟成团): when the deadline comes and the group lacks at most
``auto_fill_within`` members (and has at least one real member), it is filled instead of failing;
the missing places are recorded as ``auto_filled`` so that reports never count them as people.

Effects are decisions for the caller to carry out in the same transaction: on ``filled`` confirm
the members' orders / claims at the group price; on ``failed`` void every member's claim (and
refund what was paid) — the issue's "automatic failure and voiding on timeout".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import assert_never


class GroupStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    FAILED = "failed"


class EffectKind(StrEnum):
    CONFIRM_CLAIMS = "confirm_claims"  # members get the group price
    VOID_CLAIMS = "void_claims"  # members' claims voided, payments refunded


class JoinRefusal(StrEnum):
    NOT_OPEN = "not_open"  # filled or failed already
    ALREADY_MEMBER = "already_member"
    EXPIRED = "expired"  # the deadline passed (the group just failed or was auto-filled)
    NOT_MEMBER = "not_member"  # leaving a group one is not in
    LEADER_CANNOT_LEAVE = "leader_cannot_leave"


@dataclass(frozen=True)
class GroupState:
    size: int
    deadline: datetime
    leader_id: int
    members: tuple[int, ...]  # the leader first
    status: GroupStatus = GroupStatus.OPEN
    auto_fill_within: int = 0  # 0: no auto-fill
    auto_filled: int = 0


@dataclass(frozen=True)
class Join:
    profile_id: int


@dataclass(frozen=True)
class Leave:
    """A member leaves an open group (e.g. cancels the unpaid order)."""

    profile_id: int


@dataclass(frozen=True)
class Tick:
    """Time passes (the worker's sweep of open groups)."""


Event = Join | Leave | Tick


@dataclass(frozen=True)
class Effect:
    kind: EffectKind
    profile_ids: tuple[int, ...]


@dataclass(frozen=True)
class Transition:
    """The state after the event, what to do about it, and why the event was refused if it was."""

    state: GroupState
    effects: tuple[Effect, ...] = ()
    refused: JoinRefusal | None = None


def open_group(*, leader_id: int, size: int, deadline: datetime, auto_fill_within: int = 0) -> GroupState:
    """A new open group with its leader as the first member (size ≥ 2)."""
    if size < 2:
        raise ValueError("A group buy needs a size of at least 2.")
    if not 0 <= auto_fill_within < size:
        raise ValueError("auto_fill_within is between 0 and size - 1.")
    return GroupState(size=size, deadline=deadline, leader_id=leader_id, members=(leader_id,),
                      auto_fill_within=auto_fill_within)


def decide(state: GroupState, event: Event, now: datetime) -> Transition:
    """The transition for ``event`` at ``now`` (see the module docstring)."""
    if state.status is GroupStatus.OPEN and now >= state.deadline:
        settled = _settle_timeout(state)
        if isinstance(event, Tick):
            return settled
        return replace(settled, refused=JoinRefusal.EXPIRED)
    match event:
        case Tick():
            return Transition(state)  # nothing due yet (or already final)
        case Join(profile_id=profile_id):
            return _join(state, profile_id)
        case Leave(profile_id=profile_id):
            return _leave(state, profile_id)
        case _:
            assert_never(event)


def _join(state: GroupState, profile_id: int) -> Transition:
    if state.status is not GroupStatus.OPEN:
        return Transition(state, refused=JoinRefusal.NOT_OPEN)
    if profile_id in state.members:
        return Transition(state, refused=JoinRefusal.ALREADY_MEMBER)
    members = state.members + (profile_id,)
    if len(members) >= state.size:
        filled = replace(state, members=members, status=GroupStatus.FILLED)
        return Transition(filled, (Effect(EffectKind.CONFIRM_CLAIMS, members),))
    return Transition(replace(state, members=members))


def _leave(state: GroupState, profile_id: int) -> Transition:
    if state.status is not GroupStatus.OPEN:
        return Transition(state, refused=JoinRefusal.NOT_OPEN)
    if profile_id not in state.members:
        return Transition(state, refused=JoinRefusal.NOT_MEMBER)
    if profile_id == state.leader_id:
        return Transition(state, refused=JoinRefusal.LEADER_CANNOT_LEAVE)
    members = tuple(m for m in state.members if m != profile_id)
    return Transition(replace(state, members=members), (Effect(EffectKind.VOID_CLAIMS, (profile_id,)),))


def _settle_timeout(state: GroupState) -> Transition:
    """The deadline came with the group still open: auto-fill if allowed and close enough, else fail."""
    missing = state.size - len(state.members)
    if state.auto_fill_within and 0 < missing <= state.auto_fill_within and state.members:
        filled = replace(state, status=GroupStatus.FILLED, auto_filled=missing)
        return Transition(filled, (Effect(EffectKind.CONFIRM_CLAIMS, state.members),))
    failed = replace(state, status=GroupStatus.FAILED)
    return Transition(failed, (Effect(EffectKind.VOID_CLAIMS, state.members),))
