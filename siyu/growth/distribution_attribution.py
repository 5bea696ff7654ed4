"""Which promoter an order belongs to: the last touch within the attribution window.

A pure function over the touches that reached the buyer (through their visitor cookie, their
profile, or the ``siyu_ref`` the shop carried onto the order) and the order's time. Touches after
the order, older than the window, or of a promoter no longer active do not count; of two touches at
the same instant the later-written one (higher id) wins, so the answer never depends on read order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from siyu.growth.distribution_models import Touch


def last_touch(touches: Iterable[Touch], ordered_at: datetime, window: timedelta,
               active: Collection[int] | None = None) -> Touch | None:
    """The touch the order is attributed to, or None: ``ordered_at - window <= touched_at <= ordered_at``."""
    since = ordered_at - window
    best: Touch | None = None
    for touch in touches:
        if not since <= touch.touched_at <= ordered_at:
            continue
        if active is not None and touch.promoter_id not in active:
            continue
        if best is None or (touch.touched_at, touch.id) > (best.touched_at, best.id):
            best = touch
    return best
