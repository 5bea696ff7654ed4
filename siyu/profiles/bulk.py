"""Folding a bulk chunk into profiles with times as epoch milliseconds: the set-based imports' fold.

:func:`siyu.profiles.rollups.add_event` folds one event with ``datetime`` values; a bulk import folds
hundreds of thousands, and converting each time to and from ``datetime`` (and comparing aware
datetimes) was a measurable share of the import's writing process (``to_millis`` alone ~7 µs a row).
Here the same rules run on integers: the times the database stores. Milliseconds order events as
their datetimes do (imports have whole seconds, and the stored columns are milliseconds anyway), so
the folds agree: ``tests/profiles/test_bulk_fold.py`` checks it on generated events.

A :class:`~siyu.profiles.rollups.Rollup` holding milliseconds is what the set-based writers
(:mod:`siyu.imports.bulk_store`) write: their parameters are the rollup's fields as they are.
"""

from __future__ import annotations

from typing import Any

from siyu.profiles.rollups import ORDER_EVENT, Rollup
from siyu.profiles.traits import apply_stamped_traits

Counts = dict[tuple[int, str], list[int]]  # (profile, event name) -> [count, first ms, last ms]


def add_event_ms(rollup: Rollup, name: str, at: int, amount: float, channel: str | None) -> None:
    """:func:`siyu.profiles.rollups.add_event` for one activity event at ``at`` ms; ``amount`` is
    :func:`siyu.profiles.rollups.order_amount` of its properties (read only for an order)."""
    if channel is not None:
        first_seen = rollup.first_seen_at
        if rollup.first_channel is None or (first_seen is not None and at < first_seen):  # type: ignore[operator]
            rollup.first_channel = channel
        if rollup.last_seen_at is None or at >= rollup.last_seen_at:  # type: ignore[operator]
            rollup.last_channel = channel
    rollup.event_count += 1
    first, last = rollup.first_seen_at, rollup.last_seen_at
    rollup.first_seen_at = at if first is None or at < first else first  # type: ignore[assignment,operator]
    rollup.last_seen_at = at if last is None or at > last else last  # type: ignore[assignment,operator]
    if name == ORDER_EVENT:
        rollup.order_count += 1
        rollup.total_spend = round(rollup.total_spend + amount, 2)
        first, last = rollup.first_order_at, rollup.last_order_at
        rollup.first_order_at = at if first is None or at < first else first  # type: ignore[assignment,operator]
        rollup.last_order_at = at if last is None or at > last else last  # type: ignore[assignment,operator]


def add_count(counts: Counts, profile_id: int, name: str, at: int) -> None:
    """The per-event-name count of :func:`siyu.profiles.store.add_event_counts`, in milliseconds."""
    entry = counts.get((profile_id, name))
    if entry is None:
        counts[(profile_id, name)] = [1, at, at]
        return
    entry[0] += 1
    if at < entry[1]:
        entry[1] = at
    if at > entry[2]:
        entry[2] = at


def fold_traits(stored: tuple[dict[str, Any], dict[str, Any]], updates: list[tuple[dict[str, Any], str, str]]
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A profile's traits after a chunk's updates ``(traits, stamp, source)``, applied in event order
    onto what it had: :func:`siyu.profiles.traits.apply_traits` with the event time already written
    as its stamp (``timestamp.isoformat()``, done by the converter)."""
    traits, meta = stored
    for incoming, stamp, source in updates:
        apply_stamped_traits(traits, meta, incoming, stamp, source)
    return traits, meta
