"""Bargain (砍价): friends each cut the price in shrinking random amounts. Pure.

The promise to the customer is exact: after the ``expected_helpers``-th helper the price *is* the
target price — never above (an 砍价 that stalls at 0.01 yuan is the classic complaint), never below
(the brand would pay for the difference). Every helper cuts at least 1 fen, so the amount to cut
(``start - target``) must be at least ``expected_helpers`` fen.

The plan. Every helper first gets 1 fen; the rest ``R = total - N`` is shared by weights
``w_i = decay**i * u_i`` (``u_i`` uniform in ``[1 - JITTER, 1 + JITTER]`` from the seed), rounded down,
the fen left by rounding going to the largest remainders (so the sum is exact), and the cuts sorted
largest first. ``decay = 0.5 ** (3 / N)``: the weight halves every third of the helpers, so the first
cut is about eight times the last whatever N is, and the first helper feels the cut.

Live cuts (:func:`next_cut`) re-plan what is left over the helpers left and take the first (largest)
element — with the *original* ``decay`` the geometric weights are self-similar, so a re-plan looks
like the rest of the first plan. A new customer's cut is ``new_customer_multiplier`` times that,
*borrowed from later cuts*: it comes out of what is left, so the later helpers share less, the
total does not move and the target is still reached exactly at the N-th helper (each later helper
keeps at least 1 fen).

Determinism: the same (seed, helper index, amounts) gives the same cut, so a retried request or a
replay recomputes the same number.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

JITTER = 0.15
DEFAULT_NEW_CUSTOMER_MULTIPLIER = 2.0


class CutRefusal(StrEnum):
    """Why a helper's cut was not applied."""

    TARGET_REACHED = "target_reached"  # the N helpers already came
    EXPIRED = "expired"  # the deadline passed
    ALREADY_HELPED = "already_helped"  # one cut per helper


def seeded_random(seed: int | str, *parts: object) -> random.Random:
    """A ``random.Random`` derived from the seed and the parts (sha256, so any seed string works and
    neighbouring indexes give unrelated streams)."""
    digest = hashlib.sha256(":".join(str(p) for p in (seed, *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def decay_for(expected_helpers: int) -> float:
    """``0.5 ** (3 / N)``: the weight halves every third of the helpers (see the module docstring)."""
    return 0.5 ** (3 / max(1, expected_helpers))


def plan_cuts(*, start_price_fen: int, target_price_fen: int, expected_helpers: int, seed: int | str,
              decay: float | None = None) -> list[int]:
    """The N cuts, largest first: each ≥ 1 fen, summing exactly to ``start - target``.

    Raises ``ValueError`` when the numbers can't make a bargain (N < 1, target ≥ start, or fewer
    fen to cut than helpers)."""
    total = start_price_fen - target_price_fen
    n = expected_helpers
    if n < 1:
        raise ValueError("A bargain needs at least one helper (expected_helpers ≥ 1).")
    if target_price_fen < 0 or total < n:
        raise ValueError(f"The price must fall by at least 1 fen per helper: {total} fen to cut over {n} helpers "
                         "(lower the target price or expect fewer helpers).")
    rate = decay_for(n) if decay is None else decay
    rng = seeded_random(seed, "plan", start_price_fen, target_price_fen, n)
    weights = [rate**i * rng.uniform(1 - JITTER, 1 + JITTER) for i in range(n)]
    rest = total - n
    scale = rest / sum(weights)
    shares = [w * scale for w in weights]
    cuts = [1 + int(s) for s in shares]
    short = total - sum(cuts)
    # Largest remainder: the fen lost by rounding down go to the biggest fractional parts.
    by_fraction = sorted(range(n), key=lambda i: (shares[i] - int(shares[i]), -i), reverse=True)
    for i in by_fraction[:short]:
        cuts[i] += 1
    return sorted(cuts, reverse=True)


@dataclass(frozen=True)
class BargainState:
    """One bargain as far as it has gone. ``cuts`` are the fen cut so far, in helper order;
    ``helper_ids`` the helpers who cut (one cut each)."""

    start_price_fen: int
    target_price_fen: int
    expected_helpers: int
    seed: int | str
    deadline: datetime | None = None
    new_customer_multiplier: float = DEFAULT_NEW_CUSTOMER_MULTIPLIER
    cuts: tuple[int, ...] = ()
    helper_ids: tuple[int, ...] = field(default=())

    @property
    def price_fen(self) -> int:
        return self.start_price_fen - sum(self.cuts)

    @property
    def helpers_left(self) -> int:
        return self.expected_helpers - len(self.cuts)

    @property
    def reached_target(self) -> bool:
        return self.price_fen == self.target_price_fen


@dataclass(frozen=True)
class Cut:
    """One helper's cut. ``amount_fen`` is 0 when ``refused``; ``bonus_fen`` is the new-customer
    extra inside ``amount_fen`` (borrowed from later helpers)."""

    index: int  # 1-based helper number (0 when refused)
    amount_fen: int
    bonus_fen: int
    price_after_fen: int
    reached_target: bool
    refused: CutRefusal | None = None


def is_expired(state: BargainState, now: datetime) -> bool:
    """Past the deadline (the deadline itself is already too late: ``now >= deadline``)."""
    return state.deadline is not None and now >= state.deadline


def next_cut(state: BargainState, *, helper_is_new: bool, seed: int | str | None = None,
             now: datetime | None = None, helper_id: int | None = None) -> Cut:
    """The next helper's cut (see the module docstring for the formula).

    ``seed`` defaults to the state's seed. ``now`` checks the deadline; ``helper_id`` refuses a
    second cut by the same helper. The caller stores the cut with :func:`apply_cut`."""
    refused = _refusal(state, now, helper_id)
    if refused is not None:
        return Cut(0, 0, 0, state.price_fen, state.reached_target, refused)
    left = state.helpers_left
    remaining = state.price_fen - state.target_price_fen
    index = len(state.cuts) + 1
    if left == 1:
        base = amount = remaining
    else:
        base = plan_cuts(start_price_fen=remaining, target_price_fen=0, expected_helpers=left,
                         seed=seed if seed is not None else state.seed,
                         decay=decay_for(state.expected_helpers))[0]
        amount = base
        if helper_is_new:
            # Borrowed from the later helpers: each of the (left - 1) keeps at least 1 fen.
            amount = min(int(base * state.new_customer_multiplier), remaining - (left - 1))
            amount = max(amount, base)
    price_after = state.price_fen - amount
    return Cut(index, amount, amount - base, price_after, price_after == state.target_price_fen)


def apply_cut(state: BargainState, cut: Cut, helper_id: int | None = None) -> BargainState:
    """The state after a cut (unchanged for a refused one)."""
    if cut.refused is not None:
        return state
    helpers = state.helper_ids + ((helper_id,) if helper_id is not None else ())
    return replace(state, cuts=state.cuts + (cut.amount_fen,), helper_ids=helpers)


def _refusal(state: BargainState, now: datetime | None, helper_id: int | None) -> CutRefusal | None:
    if state.helpers_left <= 0 or state.reached_target:
        return CutRefusal.TARGET_REACHED
    if now is not None and is_expired(state, now):
        return CutRefusal.EXPIRED
    if helper_id is not None and helper_id in state.helper_ids:
        return CutRefusal.ALREADY_HELPED
    return None


def take_back_cut(state: BargainState, helper_id: int) -> tuple[BargainState, int]:
    """The state without ``helper_id``'s cut, and that cut (0 when they did not cut): the price goes
    back up by exactly that amount and a helper's place opens again.

    The promise still holds: before, ``price - target ≥ helpers_left`` (each helper left cuts ≥ 1 fen);
    afterwards both sides grow, by the cut (≥ 1 fen) and by one helper, so the next cuts re-plan
    (:func:`next_cut`) and the target is again reached exactly at the ``expected_helpers``-th helper."""
    if helper_id not in state.helper_ids:
        return state, 0
    index = state.helper_ids.index(helper_id)
    cut = state.cuts[index]
    return replace(state, cuts=state.cuts[:index] + state.cuts[index + 1:],
                   helper_ids=state.helper_ids[:index] + state.helper_ids[index + 1:]), cut
