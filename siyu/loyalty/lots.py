"""Lot decisions, pure: when a lot earned now expires, and which lots a spend consumes.

Lots are consumed first-to-expire first (FIFO by expiry, then by age; lots that never expire last),
so the points a member would lose soonest are the ones used.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from siyu.loyalty.models import Expiry, Lot


def expires_at(expiry: Expiry, earned_at: datetime, timezone: str) -> datetime | None:
    """Rolling: ``days`` after earning. Fixed: the end of the local day ``month``/``day`` (clamped to
    the month's length: 31 in a 30-day month, 29 February in a common year) on or after the day the
    lot was earned, ``years`` later. Never: None."""
    if expiry.mode == "never":
        return None
    if expiry.mode == "rolling":
        return earned_at + timedelta(days=expiry.days)
    zone = ZoneInfo(timezone)
    local = earned_at.astimezone(zone).date()
    year = local.year
    candidate = _fixed(year, expiry.month, expiry.day)
    if candidate < local:
        candidate = _fixed(year + 1, expiry.month, expiry.day)
    candidate = _fixed(candidate.year + expiry.years, expiry.month, expiry.day)
    return datetime.combine(candidate + timedelta(days=1), time(0), zone).astimezone(earned_at.tzinfo)


def _fixed(year: int, month: int, day: int):  # noqa: ANN202 - a date
    from datetime import date

    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def fifo_order(lots: Sequence[Lot]) -> list[Lot]:
    return sorted(lots, key=lambda lot: (lot.expires_at is None, lot.expires_at or lot.created_at, lot.id))


def consume(lots: Sequence[Lot], amount: int) -> list[tuple[int, int]]:
    """(lot id, points taken) to cover ``amount`` from lots in FIFO order; takes at most what the lots
    hold (the caller has already checked the balance covers it)."""
    taken: list[tuple[int, int]] = []
    left = amount
    for lot in fifo_order(lots):
        if left <= 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            taken.append((lot.id, take))
            left -= take
    return taken
