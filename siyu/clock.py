"""The one source of "now".

Everything that depends on time (event receipt, dedupe windows, cooldowns, journeys) asks this
module, so tests move time forward with :func:`travel` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime) -> None:
    global _frozen
    _frozen = at if at.tzinfo else at.replace(tzinfo=UTC)


def unfreeze() -> None:
    global _frozen
    _frozen = None


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward; freezes at the real time first if needed."""
    freeze(now() + delta)
    return now()


@contextmanager
def travel(at: datetime) -> Iterator[None]:
    global _frozen
    previous = _frozen
    freeze(at)
    try:
        yield
    finally:
        _frozen = previous
