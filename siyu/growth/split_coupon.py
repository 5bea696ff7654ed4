"""Split coupon (裂变优惠券): a pool split randomly among K claimers of a shared link. Pure.

The split is decided once, when the sharer opens the pool, so every claimer's amount is fixed
before anyone claims (a claim then only takes the next free share — the store makes that atomic)
and the sum is exact whatever order or concurrency the claims come in. Each share is also what the
claimer's coupon is worth (the claim's own face value, :mod:`siyu.growth.reward_values`), so the
coupons handed out add up to the pool, not to K times the offer's amount.

Formula ("double mean", the way WeChat's lucky-money packets are commonly described): every share
first gets ``minimum_fen``; of the rest ``R``, with ``k`` shares still to fill, the next share gets
a uniform random integer in ``[0, 2 * R // k]`` (mean ``R / k``, so no share is expected to be
favoured), and the last share gets whatever is left. Share 0 is the sharer's own (the sharer is
one of the K claimers of the issue), then the friends' shares in claim order.

A share taken back (its claimer unfollowed or left the group within ``revoke_within_days`` while it
was still unredeemed, :mod:`siyu.growth.take_back`) is voided and does *not* return to the pool: its
place stays in ``claimed_by`` so that ``claimed_by[i]`` always names who took ``amounts[i]``, and a
coupon once issued under a code is never issued again to someone else (its unit goes back to the
offer's stock and its cost to the budget instead).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from siyu.growth.bargain import seeded_random


def split_pool(*, pool_fen: int, shares: int, minimum_fen: int, seed: int | str) -> list[int]:
    """``shares`` amounts summing exactly to ``pool_fen``, each ≥ ``minimum_fen``; index 0 is the
    sharer's. Raises ``ValueError`` when the pool can't give everyone the minimum."""
    if shares < 1:
        raise ValueError("A split coupon needs at least one share (the sharer's).")
    if minimum_fen < 0 or pool_fen < shares * minimum_fen:
        raise ValueError(f"A pool of {pool_fen} fen can't give {shares} shares {minimum_fen} fen each "
                         "(raise the pool or lower the minimum).")
    rng = seeded_random(seed, "split", pool_fen, shares, minimum_fen)
    rest = pool_fen - shares * minimum_fen
    amounts: list[int] = []
    for left in range(shares, 1, -1):
        extra = rng.randint(0, 2 * rest // left)
        amounts.append(minimum_fen + extra)
        rest -= extra
    amounts.append(minimum_fen + rest)
    return amounts


class ShareRefusal(StrEnum):
    """Why a claim on a split coupon got no share."""

    ALREADY_CLAIMED = "already_claimed"  # one share per person
    ALL_CLAIMED = "all_claimed"  # the K shares are gone
    SHARER_FIRST = "sharer_first"  # the sharer's share is taken by the sharer, not by a friend


@dataclass(frozen=True)
class SplitState:
    """A split pool and who claimed which share (``claimed_by[i]`` took ``amounts[i]``)."""

    sharer_id: int
    amounts: tuple[int, ...]
    claimed_by: tuple[int, ...] = ()

    @property
    def remaining(self) -> int:
        return len(self.amounts) - len(self.claimed_by)


@dataclass(frozen=True)
class ShareClaim:
    """A claimer's share: its position and amount, or the refusal."""

    index: int
    amount_fen: int
    refused: ShareRefusal | None = None


def open_split(*, sharer_id: int, pool_fen: int, shares: int, minimum_fen: int, seed: int | str) -> SplitState:
    """A new split with its amounts fixed and the sharer's own share already taken."""
    amounts = split_pool(pool_fen=pool_fen, shares=shares, minimum_fen=minimum_fen, seed=seed)
    return SplitState(sharer_id=sharer_id, amounts=tuple(amounts), claimed_by=(sharer_id,))


def claim_share(state: SplitState, profile_id: int) -> tuple[SplitState, ShareClaim]:
    """The next share for ``profile_id``: shares go in order, one per person."""
    if profile_id in state.claimed_by:
        return state, ShareClaim(state.claimed_by.index(profile_id), 0, ShareRefusal.ALREADY_CLAIMED)
    if not state.claimed_by and profile_id != state.sharer_id:
        return state, ShareClaim(-1, 0, ShareRefusal.SHARER_FIRST)
    if state.remaining <= 0:
        return state, ShareClaim(-1, 0, ShareRefusal.ALL_CLAIMED)
    index = len(state.claimed_by)
    return replace(state, claimed_by=state.claimed_by + (profile_id,)), ShareClaim(index, state.amounts[index])
