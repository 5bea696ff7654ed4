"""Leaderboard (排行榜): ranking recruiters, and the prizes at the end. Pure.

Ties are a documented choice (:class:`TieRule`), because operators disagree and customers argue:

- ``dense``: equal scores share a position and the next score takes the next position
  (10, 10, 8 → 1, 1, 2);
- ``standard``: equal scores share a position and the next skips (10, 10, 8 → 1, 1, 3), as in sport;
- ``earliest``: equal scores are ordered by who reached the score first (``reached_at``), so every
  position is unique — the usual rule for campaigns with one prize per place.

Within a shared position the order shown is still earliest first (then profile id), so the list is
stable. Prizes (:func:`award_prizes`) go by position to tiers ``[from_position, to_position]``; a tier
may cap its winners (``max_winners``) because a tie at the last prized place must not multiply the
prizes beyond the budget — the earliest to reach the score win, the others are reported as
``cut_by_cap`` so an operator can see (and, if they choose, settle by hand) who missed out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import assert_never


class TieRule(StrEnum):
    DENSE = "dense"
    STANDARD = "standard"
    EARLIEST = "earliest"


@dataclass(frozen=True)
class Entry:
    profile_id: int
    score: int
    reached_at: datetime  # when the entry reached its current score


@dataclass(frozen=True)
class Ranked:
    position: int
    profile_id: int
    score: int
    reached_at: datetime


@dataclass(frozen=True)
class PrizeTier:
    from_position: int
    to_position: int
    prize_key: str  # what is granted (an offer id, ...), opaque here
    max_winners: int | None = None  # None: everyone ranked in the positions
    min_score: int = 1  # a prize needs at least this score (no prize for zero invites)


@dataclass(frozen=True)
class Award:
    profile_id: int
    position: int
    prize_key: str


@dataclass(frozen=True)
class Awards:
    awards: tuple[Award, ...]
    cut_by_cap: tuple[Ranked, ...]  # ranked inside a tier's positions but beyond its max_winners


def rank(entries: Iterable[Entry], ties: TieRule = TieRule.DENSE) -> list[Ranked]:
    """Entries ordered by score (highest first), then by who reached it first, with positions."""
    ordered = sorted(entries, key=lambda e: (-e.score, e.reached_at, e.profile_id))
    ranked: list[Ranked] = []
    for i, entry in enumerate(ordered):
        previous = ranked[-1] if ranked else None
        tied = previous is not None and previous.score == entry.score
        match ties:
            case TieRule.EARLIEST:
                position = i + 1
            case TieRule.DENSE:
                position = 1 if previous is None else previous.position + (0 if tied else 1)
            case TieRule.STANDARD:
                position = previous.position if previous is not None and tied else i + 1
            case _:
                assert_never(ties)
        ranked.append(Ranked(position, entry.profile_id, entry.score, entry.reached_at))
    return ranked


def award_prizes(ranking: Sequence[Ranked], tiers: Sequence[PrizeTier]) -> Awards:
    """Who wins what (see the module docstring). Each person wins at most one prize: the first tier
    (in the order given) whose positions hold them and which still has room."""
    awards: list[Award] = []
    cut: list[Ranked] = []
    won: set[int] = set()
    for tier in tiers:
        if tier.from_position > tier.to_position or tier.from_position < 1:
            raise ValueError(f"Prize tier {tier.prize_key!r}: positions run from 1 up, from ≤ to.")
        inside = [r for r in ranking if tier.from_position <= r.position <= tier.to_position
                  and r.score >= tier.min_score and r.profile_id not in won]
        room = len(inside) if tier.max_winners is None else tier.max_winners
        for ranked in inside[:room]:
            awards.append(Award(ranked.profile_id, ranked.position, tier.prize_key))
            won.add(ranked.profile_id)
        cut.extend(inside[room:])
    return Awards(tuple(awards), tuple(r for r in cut if r.profile_id not in won))
