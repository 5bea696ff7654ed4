"""The points ledger's public functions: earn, spend, redeem for an offer, reverse a refunded order,
adjust. Each runs inside the caller's write transaction and starts by locking the member's row
(:func:`siyu.loyalty.store.lock_member`), so one person's ledger changes one transaction at a time:
the balance guard (``points_balance + delta >= 0``) and the lots it consumes can't be raced, on
PostgreSQL (row lock held to commit) or SQLite (one writer). Every operation writes its entries
under the caller's idempotency key first: a repeated key returns the first answer and changes nothing.

Invariants (tests/loyalty/test_points_race.py, test_lots_property.py): the balance is never negative,
and equals both the sum of the member's ledger entries and the sum of their lots' remaining points.

Refunds (policy): the points the order earned are taken back from that order's own lots first,
then from the member's other lots (FIFO); what the balance can't cover is recorded as a debt on the
member (``points_debt``), and the next points earned repay it first (a ``repay`` entry). The balance
never goes negative, and a member can't spend points and refund the order to keep both.

Segments: an operation that changes the balance writes a ``Points Changed`` entry for the member
(:func:`siyu.loyalty.store.append_points_changed`), so real-time evaluation re-evaluates their
conditions on the balance in its next pass. The loyalty worker passes ``note_change=False`` and
writes one entry per member for its whole batch instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.loyalty import lots as lot_rules
from siyu.loyalty import points_store, store
from siyu.loyalty.errors import InsufficientPoints, KeyReused, LoyaltyError
from siyu.loyalty.models import Entry, EntryKind, Expiry, Programme


def _check(key: str, points: int) -> None:
    if not isinstance(key, str) or not 0 < len(key) <= 180:
        raise LoyaltyError("'idempotency_key' is 1-180 characters.", details={"field": "idempotency_key"})
    if points <= 0:
        raise LoyaltyError("'points' must be a positive whole number.", details={"field": "points"})


def _repeat(conn: Connection, workspace_id: int, key: str, profile_id: int, kind: EntryKind) -> Entry:
    first = points_store.entry_by_key(conn, workspace_id, key)
    assert first is not None  # the key exists: the insert that lost saw it
    if first.profile_id != profile_id or first.kind is not kind:
        raise KeyReused("This idempotency key was used for another points operation; use a new key.",
                        details={"idempotency_key": key})
    return first


def earn(conn: Connection, workspace_id: int, profile_id: int, points: int, *, key: str, reason: str,
         now: datetime, expiry: Expiry, timezone: str, order_id: str | None = None,
         cap: tuple[str, int, int | None] | None = None, details: dict[str, Any] | None = None,
         note_change: bool = True) -> Entry:
    """Credit ``points`` (reduced to what the rule's daily cap ``(rule, local day, cap)`` lets
    through) in a new lot; a debt from a refund is repaid first."""
    _check(key, points)
    store.lock_member(conn, workspace_id, profile_id, now)
    entry_id = points_store.insert_entry(conn, workspace_id, profile_id, key, EntryKind.EARN, points, reason, now,
                                         order_id=order_id, details=details)
    if entry_id is None:
        return _repeat(conn, workspace_id, key, profile_id, EntryKind.EARN)
    granted = points
    if cap is not None:
        granted = points_store.add_daily(conn, workspace_id, profile_id, cap[0], cap[1], points, cap[2])
        if granted != points:
            points_store.set_entry_points(conn, workspace_id, entry_id, granted,
                                          {**(details or {}), "capped_from": points})
    member = store.get_member(conn, workspace_id, profile_id)
    repaid = min(granted, member.points_debt)
    if repaid:
        points_store.insert_entry(conn, workspace_id, profile_id, f"{key}#repay", EntryKind.REPAY, -repaid,
                                  "refund debt", now, order_id=order_id)
        points_store.change_debt(conn, workspace_id, profile_id, -repaid, now)
    credited = granted - repaid
    if credited:
        points_store.change_balance(conn, workspace_id, profile_id, credited, now)
        points_store.insert_lot(conn, workspace_id, profile_id, entry_id, credited,
                                lot_rules.expires_at(expiry, now, timezone), order_id, now)
        if note_change:
            store.append_points_changed(conn, workspace_id, [profile_id], now)
    return points_store.entry_by_key(conn, workspace_id, key)  # type: ignore[return-value]


def _take(conn: Connection, workspace_id: int, profile_id: int, amount: int, order_id: str | None = None) -> list:
    """Consume ``amount`` from the member's lots (the order's own first, when given), FIFO."""
    taken: list[tuple[int, int]] = []
    if order_id is not None:
        taken = lot_rules.consume(points_store.open_lots(conn, workspace_id, profile_id, order_id), amount)
        for lot_id, points in taken:
            points_store.take_from_lot(conn, workspace_id, lot_id, points)
    rest = amount - sum(p for _, p in taken)
    if rest:
        more = lot_rules.consume(points_store.open_lots(conn, workspace_id, profile_id), rest)
        for lot_id, points in more:
            points_store.take_from_lot(conn, workspace_id, lot_id, points)
        taken += more
    return [list(t) for t in taken]


def spend(conn: Connection, workspace_id: int, profile_id: int, points: int, *, key: str, reason: str,
          now: datetime, details: dict[str, Any] | None = None) -> Entry:
    """Debit ``points`` from the oldest-expiring lots, or raise InsufficientPoints (the caller rolls
    back: nothing of the attempt stays, and the key is free)."""
    _check(key, points)
    member, _ = store.lock_member(conn, workspace_id, profile_id, now)
    entry_id = points_store.insert_entry(conn, workspace_id, profile_id, key, EntryKind.SPEND, -points, reason, now,
                                         details=details)
    if entry_id is None:
        return _repeat(conn, workspace_id, key, profile_id, EntryKind.SPEND)
    if not points_store.change_balance(conn, workspace_id, profile_id, -points, now):
        raise InsufficientPoints(f"The balance is {member.points_balance} points; {points} were asked for.",
                                 details={"balance": member.points_balance, "points": points})
    lots = _take(conn, workspace_id, profile_id, points)
    points_store.set_entry_points(conn, workspace_id, entry_id, -points, {**(details or {}), "lots": lots})
    store.append_points_changed(conn, workspace_id, [profile_id], now)
    return points_store.entry_by_key(conn, workspace_id, key)  # type: ignore[return-value]


def redeem(conn: Connection, workspace_id: int, programme: Programme, profile_id: int, offer_id: int, *,
           key: str, now: datetime) -> tuple[Entry, Any]:
    """Spend the catalogue price of the offer and claim it, in the caller's one transaction: when the
    claim is refused (``OffersError``) the caller rolls back and the points are not spent. The claim's
    key is derived from ours, so a repeat returns the same entry and the same claim."""
    from siyu.offers.service import claim_offer

    price = next((item.points for item in programme.catalogue if item.offer_id == offer_id), None)
    if price is None:
        raise LoyaltyError(f"Offer {offer_id} is not in the points catalogue.", details={"offer_id": offer_id})
    entry = spend(conn, workspace_id, profile_id, price, key=key, reason=f"offer:{offer_id}", now=now,
                  details={"offer_id": offer_id})
    claim = claim_offer(conn, workspace_id, offer_id, profile_id=profile_id, idempotency_key=f"points:{key}",
                        now=now, channel="points")
    return entry, claim


def reverse_order(conn: Connection, workspace_id: int, order_id: str, *, now: datetime,
                  note_change: bool = True) -> tuple[Entry | None, bool]:
    """Take back what a refunded order earned (see the module's policy): the reversal entry (None when
    the order earned nothing) and whether it is new (False: reversed before, nothing changed now)."""
    earned = [e for e in points_store.order_entries(conn, workspace_id, order_id) if e.kind is EntryKind.EARN]
    if not earned:
        return None, False
    profile_id = earned[0].profile_id
    key = f"refund:{order_id}"[:180]
    member, _ = store.lock_member(conn, workspace_id, profile_id, now)
    total = sum(e.points for e in earned)
    entry_id = points_store.insert_entry(conn, workspace_id, profile_id, key, EntryKind.REVERSE, 0,
                                         f"refund {order_id}"[:100], now, order_id=order_id)
    if entry_id is None:
        return _repeat(conn, workspace_id, key, profile_id, EntryKind.REVERSE), False
    member = store.get_member(conn, workspace_id, profile_id)
    taken = min(total, member.points_balance)
    lots = _take(conn, workspace_id, profile_id, taken, order_id)
    if taken:
        points_store.change_balance(conn, workspace_id, profile_id, -taken, now)
        if note_change:
            store.append_points_changed(conn, workspace_id, [profile_id], now)
    shortfall = total - taken
    if shortfall:
        points_store.change_debt(conn, workspace_id, profile_id, shortfall, now)
    points_store.set_entry_points(conn, workspace_id, entry_id, -taken,
                                  {"earned": total, "debt": shortfall, "lots": lots})
    return points_store.entry_by_key(conn, workspace_id, key), True


def adjust(conn: Connection, workspace_id: int, profile_id: int, points: int, *, key: str, note: str,
           now: datetime, expiry: Expiry, timezone: str) -> Entry:
    """An operator's correction: a credit is an ordinary lot; a debit spends like a purchase."""
    if points > 0:
        return earn(conn, workspace_id, profile_id, points, key=key, reason=f"adjust: {note}"[:100], now=now,
                    expiry=expiry, timezone=timezone)
    return spend(conn, workspace_id, profile_id, -points, key=key, reason=f"adjust: {note}"[:100], now=now)
