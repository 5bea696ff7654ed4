"""Rollups kept current on ingest, so profile pages and segments never scan the event log.

An order is a track call named ``Order Completed`` (Segment's e-commerce spec); its amount is
``properties.total``, else ``properties.revenue``. The acquisition channel of an event is
``context.campaign.source`` (utm_source), else ``properties.channel``, else the trait ``channel``
given on the call. First touch is the channel of the earliest event that carried one; last touch
that of the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

ORDER_EVENT = "Order Completed"


@dataclass(slots=True)
class Rollup:
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    event_count: int = 0
    order_count: int = 0
    total_spend: float = 0.0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    first_channel: str | None = None
    last_channel: str | None = None


def order_amount(properties: dict[str, Any]) -> float:
    for key in ("total", "revenue"):
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return 0.0


def channel_of(properties: dict[str, Any], context: dict[str, Any], traits: dict[str, Any]) -> str | None:
    campaign = context.get("campaign")
    candidates = [campaign.get("source") if isinstance(campaign, dict) else None, properties.get("channel"),
                  traits.get("channel")]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip()[:100]
    return None


def add_event(rollup: Rollup, *, name: str, at: datetime, properties: dict[str, Any], channel: str | None,
              counts_as_activity: bool = True, amount: float | None = None) -> None:
    """Fold one event into a rollup (in place). Order of arrival does not matter. ``amount``: the
    order amount when already known (a queued message carries it), else read from ``properties``."""
    if channel is not None:
        if rollup.first_channel is None or (rollup.first_seen_at is not None and at < rollup.first_seen_at):
            rollup.first_channel = channel
        if rollup.last_seen_at is None or at >= rollup.last_seen_at:
            rollup.last_channel = channel
    if counts_as_activity:
        rollup.event_count += 1
        rollup.first_seen_at = at if rollup.first_seen_at is None else min(rollup.first_seen_at, at)
        rollup.last_seen_at = at if rollup.last_seen_at is None else max(rollup.last_seen_at, at)
    if name == ORDER_EVENT:
        rollup.order_count += 1
        rollup.total_spend = round(rollup.total_spend + (order_amount(properties) if amount is None else amount), 2)
        rollup.first_order_at = at if rollup.first_order_at is None else min(rollup.first_order_at, at)
        rollup.last_order_at = at if rollup.last_order_at is None else max(rollup.last_order_at, at)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def combine(a: Rollup, b: Rollup) -> Rollup:
    """The rollup of a merged profile."""
    a_first = a.first_seen_at
    b_first = b.first_seen_at
    first_channel = a.first_channel
    if first_channel is None or (b.first_channel and b_first and (a_first is None or b_first < a_first)):
        first_channel = b.first_channel or a.first_channel
    last_channel = a.last_channel
    if b.last_channel and (a.last_seen_at is None or (b.last_seen_at and b.last_seen_at > a.last_seen_at)):
        last_channel = b.last_channel
    return Rollup(
        first_seen_at=_min(a_first, b_first),
        last_seen_at=_max(a.last_seen_at, b.last_seen_at),
        event_count=a.event_count + b.event_count,
        order_count=a.order_count + b.order_count,
        total_spend=round(a.total_spend + b.total_spend, 2),
        first_order_at=_min(a.first_order_at, b.first_order_at),
        last_order_at=_max(a.last_order_at, b.last_order_at),
        first_channel=first_channel,
        last_channel=last_channel or b.last_channel,
    )
