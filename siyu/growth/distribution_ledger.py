"""The commission ledger at work: orders in the event log attributed and their commissions written,
refunds reversing them, the refund window confirming them, payouts paying them.

The pass tails the log past its own cursor (``distribution.orders`` in ``cursors``), and the rows it
writes and the cursor's move are one transaction: a crash repeats nothing (every row is unique on
(order, promoter, level, kind), so a replay writes nothing twice) and skips nothing. Ordering
argument as in :mod:`siyu.segments.realtime`: every append to a workspace's log holds that
workspace's advisory lock, so ids become visible in id order and a cursor on ids misses none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu.growth import distribution_store as store
from siyu.growth.distribution_attribution import last_touch
from siyu.growth.distribution_errors import DistributionError
from siyu.growth.distribution_models import CommissionStatus, EntryKind, Order, Plan
from siyu.growth.distribution_rules import order_of, parse_plan, shares
from siyu.ingest.store import newest_event_id
from siyu.segments import store as cursor_store

CURSOR = "distribution.orders"
ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
BATCH = 2000
MAX_KEY = 200


@dataclass
class Progress:
    events: int = 0  # log entries the cursor moved over, of every name
    attributed: int = 0  # orders that earned someone a commission
    written: int = 0  # ledger rows written
    reversed: int = 0
    adjusted: int = 0


def plan_of(conn: Connection, workspace_id: int) -> Plan:
    """The workspace's plan, or the default (one level at 10%, 7-day windows) until one is saved."""
    rules, _ = store.get_plan(conn, workspace_id)
    return Plan() if rules is None else parse_plan(rules)


def start_following(conn: Connection, workspace_id: int, now: datetime) -> None:
    """Create the cursor at the end of the log (the first promoter's transaction): orders placed
    before any promoter existed cannot have been touched by one."""
    cursor_store.claim_cursor(conn, workspace_id, CURSOR, now, initial=newest_event_id(conn, workspace_id))


def process_new_events(conn: Connection, workspace_id: int, now: datetime, limit: int = BATCH) -> Progress:
    position = cursor_store.claim_cursor(conn, workspace_id, CURSOR, now,
                                         initial=newest_event_id(conn, workspace_id))
    count, bound = store.log_bound(conn, workspace_id, position, limit)
    progress = Progress(events=count)
    if bound is None:
        return progress
    rows = store.order_events(conn, workspace_id, position, bound, [ORDER_COMPLETED, ORDER_REFUNDED])
    if rows:
        plan, active = plan_of(conn, workspace_id), store.active_promoters(conn, workspace_id)
        for row in rows:
            properties = dict(row.properties or {})
            if row.name == ORDER_COMPLETED:
                order = order_of(row.id, row.timestamp, properties, profile_id=row.profile_id,
                                 anonymous_id=row.anonymous_id)
                if order is not None and active:
                    _attribute(conn, workspace_id, order, plan, active, now, progress)
            elif isinstance(properties.get("order_id"), str | int):
                refund_order(conn, workspace_id, str(properties["order_id"])[:128], row.id, now, progress)
    cursor_store.advance_cursor(conn, workspace_id, CURSOR, bound, now)
    return progress


def _attribute(conn: Connection, workspace_id: int, order: Order, plan: Plan, active: dict[int, int | None],
               now: datetime, progress: Progress) -> None:
    # One attribution per order: the same order sent again under another messageId (a re-import, a
    # shop's retry) may find a different last touch by then, and must not pay a second promoter. A
    # read before the insert is safe here: the cursor's row lock serialises this workspace's passes.
    if store.commissions_of_order(conn, workspace_id, order.order_id):
        return
    window = timedelta(days=plan.attribution_days)
    if order.ref and order.profile_id is not None:
        store.link_visitor(conn, workspace_id, order.ref, order.profile_id)
    touches = store.touches_reaching(conn, workspace_id, profile_id=order.profile_id,
                                     anonymous_id=order.anonymous_id, ref=order.ref,
                                     since=order.ordered_at - window, until=order.ordered_at)
    touch = last_touch(touches, order.ordered_at, window, active)
    if touch is None:
        return
    parent = active.get(touch.promoter_id)
    chain = [touch.promoter_id] + ([parent] if parent is not None and parent in active else [])
    confirm_after = order.ordered_at + timedelta(days=plan.refund_days)
    earned = shares(order, chain, plan)
    for share in earned:
        progress.written += store.insert_commission(
            conn, workspace_id, now=now, order_id=order.order_id, promoter_id=share.promoter_id, level=share.level,
            kind=EntryKind.COMMISSION.value, status=CommissionStatus.PENDING.value, amount_fen=share.amount_fen,
            base_fen=share.base_fen, buyer_profile_id=order.profile_id, event_id=order.event_id, touch_id=touch.id,
            detail=share.detail, ordered_at=order.ordered_at, confirm_after=confirm_after)
    progress.attributed += bool(earned)


def refund_order(conn: Connection, workspace_id: int, order_id: str, event_id: int, now: datetime,
                 progress: Progress | None = None) -> Progress:
    """Reverse the order's unpaid commissions; for one already paid, write the negative adjustment
    (once: it is unique on its key too) and leave the paid row as it was."""
    progress = progress or Progress()
    for row in store.commissions_of_order(conn, workspace_id, order_id):
        if row.kind is not EntryKind.COMMISSION or row.status is CommissionStatus.REVERSED:
            continue
        if row.status is not CommissionStatus.PAID and store.reverse_commission(conn, workspace_id, row.id, now):
            progress.reversed += 1
            continue
        # Paid (or paid by a concurrent payout between our read and the compare-and-set).
        progress.adjusted += store.insert_commission(
            conn, workspace_id, now=now, order_id=order_id, promoter_id=row.promoter_id, level=row.level,
            kind=EntryKind.ADJUSTMENT.value, status=CommissionStatus.CONFIRMED.value, amount_fen=-row.amount_fen,
            base_fen=row.base_fen, buyer_profile_id=row.buyer_profile_id, event_id=event_id, touch_id=row.touch_id,
            detail={"refund_of": row.id, "payout_id": row.payout_id}, ordered_at=row.ordered_at,
            confirm_after=now, confirmed_at=now)
    return progress


def confirm_due(conn: Connection, workspace_id: int, now: datetime) -> int:
    return store.confirm_due(conn, workspace_id, now)


def pay(conn: Connection, workspace_id: int, *, key: str, now: datetime, promoter_id: int | None = None
        ) -> tuple[dict[str, Any], bool]:
    """A payout batch: every confirmed row of the promoter (or of everyone) whose confirmed balance
    is above zero, marked paid; whether it was made now. The same key again returns the first batch
    and pays nothing more (the batch row is unique on it, written first)."""
    if not key or len(key) > MAX_KEY:
        raise DistributionError(f"An idempotency key is 1-{MAX_KEY} characters.", details={"field": "key"})
    if promoter_id is not None:
        store.get_promoter(conn, workspace_id, promoter_id)
    payout_id = store.insert_payout(conn, workspace_id, key, promoter_id, now)
    if payout_id is None:
        found = store.get_payout(conn, workspace_id, key=key)
        assert found is not None
        return found, False
    amounts = store.pay_confirmed(conn, workspace_id, payout_id,
                                  store.payable_promoters(conn, workspace_id, promoter_id), now)
    store.settle_payout(conn, workspace_id, payout_id, sum(amounts), len(amounts))
    found = store.get_payout(conn, workspace_id, payout_id=payout_id)
    assert found is not None
    return found, True
