"""Following the event log: each person's events add growth value (spend, one active day, tasks),
earn points by the programme's rules (with the tier's multiplier and the daily caps in the
workspace's time zone), and an ``Order Refunded`` takes back what its order earned. Each member whose
points or growth a batch touched gets one ``Points Changed`` entry at its end, for real-time segments
(:func:`siyu.loyalty.store.append_points_changed`).

One batch is one write transaction holding the ``loyalty.events`` cursor (``FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite): two workers take turns, and a crash repeats the batch,
which changes nothing twice — every points entry is unique on a key derived from the order id (orders)
or the event id (other events), and the transaction that adds growth is the one that writes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.analytics.reports.system_events import SYSTEM_EVENTS
from siyu.loyalty import earning, membership, points, points_store, store
from siyu.loyalty.models import (
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    EntryKind,
    Programme,
)
from siyu.offers.fulfilment import EVENT_SOURCE as OFFERS_SOURCE
from siyu.offers.fulfilment import POINTS_EARNED, POINTS_REVOKED
from siyu.segments import store as cursor_store

CURSOR = "loyalty.events"
BATCH = 500
OFFER_POINTS = (POINTS_EARNED, POINTS_REVOKED)  # what a points offer's claim and its void append
# SYSTEM_EVENTS holds loyalty's own entries too (Tier Changed, Points Changed, ...: siyu.loyalty.models)
NOT_ACTIVITY = SYSTEM_EVENTS | {"Message Sent", "Message Failed", "Message Delivered", *OFFER_POINTS}


def follow_batch(conn: Connection, workspace_id: int, programme: Programme, timezone: str, now: datetime) -> int:
    """One batch of the log; returns how many events were looked at."""
    position = cursor_store.claim_cursor(conn, workspace_id, CURSOR, now)
    rows, last, looked = store.events_after(conn, workspace_id, position, BATCH)
    store.lock_members(conn, workspace_id, [int(r.profile_id) for r in rows if r.name not in NOT_ACTIVITY
                                            and r.name != ORDER_REFUNDED], now)
    changed: set[int] = set()
    for row in rows:
        if row.name in OFFER_POINTS:
            changed.update(offer_points(conn, workspace_id, programme, timezone, row, now))
        elif row.name not in NOT_ACTIVITY:
            changed.update(handle_event(conn, workspace_id, programme, timezone, row, now))
    store.append_points_changed(conn, workspace_id, changed, now)
    if looked:
        cursor_store.advance_cursor(conn, workspace_id, CURSOR, last, now)
    return looked


def handle_event(conn: Connection, workspace_id: int, programme: Programme, timezone: str, row: Any,
                 now: datetime) -> set[int]:
    """Points and growth are dated at the event (a late or imported event earns as of when it
    happened: its lot expires counting from then), never after ``now``. Returns the members whose
    points or growth it may have changed (their ``Points Changed`` entry is the caller's)."""
    properties: dict[str, Any] = row.properties or {}
    profile_id = int(row.profile_id)
    at = min(row.timestamp, now)
    order_id = str(properties["order_id"])[:100] if properties.get("order_id") is not None else None
    if row.name == ORDER_REFUNDED:
        return _refund(conn, workspace_id, order_id, at) if order_id is not None else set()
    member, raw = store.lock_member(conn, workspace_id, profile_id, at)
    multiplier = programme.tiers[member.tier_rank].points_multiplier
    day = earning.local_day(at, timezone)
    growth = earning.growth_for(programme, row.name, properties)
    # An order earns once per order id (a client resending it under a new messageId earns nothing
    # more, nor more growth); any other event once per event.
    by_order = row.name == ORDER_COMPLETED and order_id is not None
    source = f"order:{order_id}" if by_order else f"event:{row.id}"
    changed: set[int] = set()
    for earn in earning.points_for(programme, row.name, properties, multiplier):
        entry = points.earn(conn, workspace_id, profile_id, earn.points, key=f"{source}:{earn.rule}"[:180],
                            reason=earn.rule, now=at, expiry=programme.expiry, timezone=timezone,
                            order_id=order_id if by_order else None, cap=(earn.rule, day, earn.daily_cap),
                            details={"event_id": int(row.id), "growth": growth}, note_change=False)
        changed.add(profile_id)
        if by_order and (entry.details or {}).get("event_id") != int(row.id):
            growth = 0  # this order was counted from an earlier event
    extra: dict[str, Any] = {}
    if programme.weights.activity_per_day and raw.last_active_day != day:
        growth += programme.weights.activity_per_day
        extra["last_active_day"] = day
    if growth or extra:
        membership.apply_growth(conn, workspace_id, programme, member, growth, at, **extra)
        changed.add(profile_id)
    return changed


def offer_points(conn: Connection, workspace_id: int, programme: Programme, timezone: str, row: Any,
                 now: datetime) -> set[int]:
    """Points an offer gave (:mod:`siyu.offers.fulfilment`: a points offer's claim appends ``Points
    Earned``, its void ``Points Revoked``): credited once per claim in a lot of their own, as the offer
    says (no tier multiplier, no daily cap: the offer's stock and limits bound them), and taken back on
    the void like a refunded order's — what was spent already becomes debt, the balance never negative."""
    properties: dict[str, Any] = row.properties or {}
    claim_id, amount = properties.get("claim_id"), properties.get("points")
    if row.source != OFFERS_SOURCE or not isinstance(claim_id, int) or not isinstance(amount, int) or amount <= 0:
        return set()  # an event by that name from elsewhere (a brand's own tracking) credits nothing
    at = min(row.timestamp, now)
    reference = f"offers-claim:{claim_id}"
    if row.name == POINTS_EARNED:
        points.earn(conn, workspace_id, int(row.profile_id), amount, key=reference,
                    reason=f"offer:{properties.get('offer_id')}"[:100], now=at, expiry=programme.expiry,
                    timezone=timezone, order_id=reference, details={"event_id": int(row.id)}, note_change=False)
        return {int(row.profile_id)}
    entry, fresh = points.reverse_order(conn, workspace_id, reference, now=at, note_change=False)
    return {entry.profile_id} if entry is not None and fresh else set()


def _refund(conn: Connection, workspace_id: int, order_id: str, now: datetime) -> set[int]:
    """Points back (:func:`siyu.loyalty.points.reverse_order`) and the order's spend growth out of the
    period's growth value (it never lowers the tier at once: that waits for the period's end)."""
    earned = [e for e in points_store.order_entries(conn, workspace_id, order_id) if e.kind is EntryKind.EARN]
    _, fresh = points.reverse_order(conn, workspace_id, order_id, now=now, note_change=False)
    if not fresh:
        return set()  # earned nothing, or reversed before (the growth came out then)
    growth = max((e.details or {}).get("growth", 0) for e in earned)
    if growth:
        member, _ = store.lock_member(conn, workspace_id, earned[0].profile_id, now)
        store.add_growth(conn, workspace_id, member.profile_id, -int(growth), now)
    return {earned[0].profile_id}
