"""SQL of the points ledger: entries unique on (workspace, key), the member's balance changed only by
a guarded UPDATE (``points_balance + delta >= 0``), lots consumed by guarded UPDATEs, and the
per-day earning counters of the caps. Callers hold the member's lock (:func:`siyu.loyalty.store.lock_member`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import loyalty_members, points_daily, points_entries, points_lots
from siyu.loyalty.models import Entry, EntryKind, Lot

E, L, M = points_entries.c, points_lots.c, loyalty_members.c


def insert_entry(conn: Connection, workspace_id: int, profile_id: int, key: str, kind: EntryKind, points: int,
                 reason: str, now: datetime, *, order_id: str | None = None, lot_id: int | None = None,
                 details: dict[str, Any] | None = None) -> int | None:
    """The new entry's id, or None when the key was already used (nothing written)."""
    return conn.execute(upsert(conn, points_entries).values(
        workspace_id=workspace_id, profile_id=profile_id, idempotency_key=key, kind=kind.value, points=points,
        order_id=order_id, lot_id=lot_id, reason=reason[:100], details=details, created_at=now,
    ).on_conflict_do_nothing().returning(E.id)).scalar_one_or_none()


def _entry(row: Any) -> Entry:
    return Entry(id=int(row.id), profile_id=int(row.profile_id), idempotency_key=row.idempotency_key,
                 kind=EntryKind(row.kind), points=int(row.points), order_id=row.order_id, reason=row.reason,
                 details=row.details, created_at=row.created_at)


def entry_by_key(conn: Connection, workspace_id: int, key: str) -> Entry | None:
    row = conn.execute(select(points_entries).where(E.workspace_id == workspace_id, E.idempotency_key == key)).first()
    return None if row is None else _entry(row)


def set_entry_points(conn: Connection, workspace_id: int, entry_id: int, points: int,
                     details: dict[str, Any] | None = None) -> None:
    values: dict[str, Any] = {"points": points}
    if details is not None:
        values["details"] = details
    conn.execute(update(points_entries).where(E.workspace_id == workspace_id, E.id == entry_id).values(**values))


def list_entries(conn: Connection, workspace_id: int, profile_id: int, *, limit: int = 100,
                 before_id: int | None = None) -> list[Entry]:
    query = select(points_entries).where(E.workspace_id == workspace_id, E.profile_id == profile_id)
    if before_id is not None:
        query = query.where(E.id < before_id)
    return [_entry(r) for r in conn.execute(query.order_by(E.id.desc()).limit(limit))]


def change_balance(conn: Connection, workspace_id: int, profile_id: int, delta: int, now: datetime) -> bool:
    """Add ``delta`` unless the balance would go below zero (False then, nothing changed)."""
    done = conn.execute(update(loyalty_members).where(
        M.workspace_id == workspace_id, M.profile_id == profile_id, M.points_balance + delta >= 0,
    ).values(points_balance=M.points_balance + delta, updated_at=now).returning(M.profile_id)).first()
    return done is not None


def change_debt(conn: Connection, workspace_id: int, profile_id: int, delta: int, now: datetime) -> None:
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == profile_id)
                 .values(points_debt=M.points_debt + delta, updated_at=now))


def insert_lot(conn: Connection, workspace_id: int, profile_id: int, entry_id: int, points: int,
               expires_at: datetime | None, order_id: str | None, now: datetime) -> int:
    return int(conn.execute(points_lots.insert().values(
        workspace_id=workspace_id, profile_id=profile_id, entry_id=entry_id, order_id=order_id, earned=points,
        remaining=points, expired_points=0, expires_at=expires_at, created_at=now).returning(L.id)).scalar_one())


def _lot(row: Any) -> Lot:
    return Lot(id=int(row.id), earned=int(row.earned), remaining=int(row.remaining), expires_at=row.expires_at,
               order_id=row.order_id, created_at=row.created_at)


def open_lots(conn: Connection, workspace_id: int, profile_id: int, order_id: str | None = None) -> list[Lot]:
    """The member's lots with points left (only the order's, when ``order_id`` is given)."""
    query = select(points_lots).where(L.workspace_id == workspace_id, L.profile_id == profile_id, L.remaining > 0)
    if order_id is not None:
        query = query.where(L.order_id == order_id)
    return [_lot(r) for r in conn.execute(query.order_by(L.id))]


def list_lots(conn: Connection, workspace_id: int, profile_id: int, limit: int = 100) -> list[Lot]:
    return [_lot(r) for r in conn.execute(select(points_lots).where(
        L.workspace_id == workspace_id, L.profile_id == profile_id).order_by(L.id.desc()).limit(limit))]


def next_expiring_lot(conn: Connection, workspace_id: int, profile_id: int) -> Lot | None:
    """The member's open lot that expires first (None when every open lot never expires, or none is open)."""
    row = conn.execute(select(points_lots).where(
        L.workspace_id == workspace_id, L.profile_id == profile_id, L.remaining > 0, L.expires_at.is_not(None),
    ).order_by(L.expires_at, L.id).limit(1)).first()
    return None if row is None else _lot(row)


def take_from_lot(conn: Connection, workspace_id: int, lot_id: int, points: int) -> None:
    """Guarded: a lot never goes below zero; under the member's lock the guard always holds."""
    done = conn.execute(update(points_lots).where(L.workspace_id == workspace_id, L.id == lot_id, L.remaining >= points)
                        .values(remaining=L.remaining - points).returning(L.id)).first()
    if done is None:
        raise RuntimeError(f"lot {lot_id} holds less than {points}: the member lock was not held")


def order_entries(conn: Connection, workspace_id: int, order_id: str) -> list[Entry]:
    return [_entry(r) for r in conn.execute(select(points_entries).where(
        E.workspace_id == workspace_id, E.order_id == order_id).order_by(E.id))]


def add_daily(conn: Connection, workspace_id: int, profile_id: int, rule: str, day: int, points: int,
              cap: int | None) -> int:
    """Count ``points`` against the rule's cap for that local day; returns what the cap lets through.
    ``last_grant`` is computed from the row's old value in the same UPDATE (both engines evaluate
    every SET expression against the old row), under the row lock it takes."""
    conn.execute(upsert(conn, points_daily).values(workspace_id=workspace_id, profile_id=profile_id, rule=rule,
                                                   day=day, earned=0, last_grant=0).on_conflict_do_nothing())
    D = points_daily.c
    limit = cap if cap is not None else 2**62
    sqlite = conn.dialect.name == "sqlite"
    least, greatest = (func.min, func.max) if sqlite else (func.least, func.greatest)
    # Never below what was earned already: a cap lowered during the day lets nothing more through,
    # it does not take back (a negative grant) what the old cap allowed.
    new = greatest(D.earned, least(D.earned + points, limit))
    return int(conn.execute(update(points_daily).where(
        D.workspace_id == workspace_id, D.profile_id == profile_id, D.rule == rule, D.day == day,
    ).values(earned=new, last_grant=new - D.earned).returning(D.last_grant)).scalar_one())


def ledger_totals(conn: Connection, workspace_id: int, profile_id: int) -> tuple[int, int]:
    """(sum of the ledger, sum of the lots' remaining points): both equal the balance."""
    ledger = conn.execute(select(func.coalesce(func.sum(E.points), 0)).where(
        E.workspace_id == workspace_id, E.profile_id == profile_id)).scalar_one()
    lots = conn.execute(select(func.coalesce(func.sum(L.remaining), 0)).where(
        L.workspace_id == workspace_id, L.profile_id == profile_id)).scalar_one()
    return int(ledger), int(lots)
