"""All SQL of distribution: promoters, their touches, the plan, the commission ledger and payouts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, desc, func, or_, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import (
    commission_payouts,
    commission_plans,
    commissions,
    events,
    identities,
    promoter_touches,
    promoters,
)
from siyu.growth.distribution_errors import DistributionError, PromoterNotFound
from siyu.growth.distribution_models import (
    Commission,
    CommissionStatus,
    EntryKind,
    Promoter,
    PromoterKind,
    PromoterStatus,
    Touch,
)

ANONYMOUS = "anonymous_id"


# --- promoters --------------------------------------------------------------------------------------

def _promoter(row: Any) -> Promoter:
    values = {k: v for k, v in row._mapping.items() if k != "workspace_id"}
    values["kind"], values["status"] = PromoterKind(values["kind"]), PromoterStatus(values["status"])
    values["products"] = list(values["products"] or [])
    return Promoter(**values)


def insert_promoter(conn: Connection, workspace_id: int, *, now: datetime, **values: Any) -> Promoter:
    """A new promoter; refused (409) when the staff member or the profile is one already. ``ON
    CONFLICT DO NOTHING`` on the unique keys, so two concurrent requests make one promoter."""
    inserted = conn.execute(upsert(conn, promoters).values(
        workspace_id=workspace_id, status=PromoterStatus.ACTIVE.value, created_at=now, updated_at=now, **values,
    ).on_conflict_do_nothing().returning(promoters.c.id)).first()
    if inserted is None:
        who = {k: values.get(k) for k in ("staff_id", "profile_id") if values.get(k) is not None}
        raise DistributionError("This staff member or customer is a promoter already.", code="distribution.exists",
                                status=409, details=who)
    return get_promoter(conn, workspace_id, int(inserted[0]))


def get_promoter(conn: Connection, workspace_id: int, promoter_id: int) -> Promoter:
    row = conn.execute(select(promoters).where(promoters.c.workspace_id == workspace_id,
                                               promoters.c.id == promoter_id)).first()
    if row is None:
        raise PromoterNotFound(f"No promoter {promoter_id} in this workspace.", details={"promoter_id": promoter_id})
    return _promoter(row)


def list_promoters(conn: Connection, workspace_id: int, *, status: str | None = None, kind: str | None = None,
                   limit: int = 1000) -> list[Promoter]:
    query = select(promoters).where(promoters.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(promoters.c.status == status)
    if kind is not None:
        query = query.where(promoters.c.kind == kind)
    return [_promoter(r) for r in conn.execute(query.order_by(promoters.c.id).limit(limit))]


def promoter_by_token(conn: Connection, token: str) -> tuple[int, Promoter] | None:
    """(workspace id, promoter) of a link token.
    tenancy: cross-workspace (the random token is the address; the row names its workspace)"""
    row = conn.execute(select(promoters).where(promoters.c.token == token)).first()
    return None if row is None else (int(row.workspace_id), _promoter(row))


def update_promoter(conn: Connection, workspace_id: int, promoter_id: int, now: datetime, **values: Any) -> Promoter:
    conn.execute(update(promoters).where(promoters.c.workspace_id == workspace_id, promoters.c.id == promoter_id)
                 .values(updated_at=now, **values))
    return get_promoter(conn, workspace_id, promoter_id)


def has_recruits(conn: Connection, workspace_id: int, promoter_id: int) -> bool:
    return conn.execute(select(promoters.c.id).where(promoters.c.workspace_id == workspace_id,
                                                     promoters.c.parent_id == promoter_id).limit(1)).first() is not None


def lock_promoters(conn: Connection, workspace_id: int, ids: Sequence[int]) -> None:
    """Lock the rows of a parent change (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
    already serialises writers), so two concurrent changes cannot each see one level and together
    make three: A under B while B goes under C."""
    if conn.dialect.name == "postgresql" and ids:
        conn.execute(select(promoters.c.id).where(promoters.c.workspace_id == workspace_id,
                                                  promoters.c.id.in_(sorted(set(ids)))).with_for_update())


def active_promoters(conn: Connection, workspace_id: int) -> dict[int, int | None]:
    """Active promoters and their parents."""
    rows = conn.execute(select(promoters.c.id, promoters.c.parent_id).where(
        promoters.c.workspace_id == workspace_id, promoters.c.status == PromoterStatus.ACTIVE.value))
    return {int(r.id): r.parent_id for r in rows}


def workspaces_with_promoters(conn: Connection) -> list[int]:
    # tenancy: cross-workspace by design — the worker visits every workspace that has promoters
    return sorted(conn.execute(select(promoters.c.workspace_id).distinct()).scalars())


# --- touches ----------------------------------------------------------------------------------------

def insert_touch(conn: Connection, workspace_id: int, *, promoter_id: int, ref: str, visitor_id: str,
                 profile_id: int | None, at: datetime) -> int:
    return int(conn.execute(promoter_touches.insert().values(
        workspace_id=workspace_id, promoter_id=promoter_id, ref=ref, visitor_id=visitor_id, profile_id=profile_id,
        touched_at=at).returning(promoter_touches.c.id)).scalar_one())


def profile_of_visitor(conn: Connection, workspace_id: int, visitor_ids: Sequence[str]) -> int | None:
    """The profile an anonymous visitor id already belongs to, if any."""
    if not visitor_ids:
        return None
    return conn.execute(select(identities.c.profile_id).where(
        identities.c.workspace_id == workspace_id, identities.c.type == ANONYMOUS,
        identities.c.value.in_(list(visitor_ids))).limit(1)).scalar()


def visitor_of_ref(conn: Connection, workspace_id: int, ref: str) -> str | None:
    """The visitor of an earlier touch, named by its ``siyu_ref`` (a browser without the cookie)."""
    return conn.execute(select(promoter_touches.c.visitor_id).where(promoter_touches.c.workspace_id == workspace_id,
                                                                    promoter_touches.c.ref == ref)).scalar()


def link_visitor(conn: Connection, workspace_id: int, ref: str, profile_id: int) -> int:
    """An order carrying a touch's ``siyu_ref`` says who that touch's visitor is: their touches not
    yet tied to a profile are tied to the buyer, so the buyer's later orders find them too."""
    visitor = visitor_of_ref(conn, workspace_id, ref)
    if visitor is None:
        return 0
    return conn.execute(update(promoter_touches).where(
        promoter_touches.c.workspace_id == workspace_id, promoter_touches.c.visitor_id == visitor,
        promoter_touches.c.profile_id.is_(None)).values(profile_id=profile_id)).rowcount


def touches_reaching(conn: Connection, workspace_id: int, *, profile_id: int | None, anonymous_id: str | None,
                     ref: str | None, since: datetime, until: datetime) -> list[Touch]:
    """Every touch in [since, until] that reached the buyer: by the profile (and every anonymous id
    the identity graph gave it), by the order's anonymous id, or by the visitor of the ``siyu_ref``
    touch the shop carried onto the order."""
    visitors = select(promoter_touches.c.visitor_id).where(promoter_touches.c.workspace_id == workspace_id,
                                                           promoter_touches.c.ref == (ref or ""))
    reached: list[ColumnElement[bool]] = [promoter_touches.c.visitor_id.in_(visitors)]
    if anonymous_id:
        reached.append(promoter_touches.c.visitor_id == anonymous_id)
    if profile_id is not None:
        reached.append(promoter_touches.c.profile_id == profile_id)
        reached.append(promoter_touches.c.visitor_id.in_(select(identities.c.value).where(
            identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id,
            identities.c.type == ANONYMOUS)))
    rows = conn.execute(select(promoter_touches.c.id, promoter_touches.c.promoter_id, promoter_touches.c.touched_at)
                        .where(promoter_touches.c.workspace_id == workspace_id, or_(*reached),
                               promoter_touches.c.touched_at >= since, promoter_touches.c.touched_at <= until))
    return [Touch(int(r.id), int(r.promoter_id), r.touched_at) for r in rows]


def touch_counts(conn: Connection, workspace_id: int, promoter_ids: Sequence[int]) -> dict[int, int]:
    if not promoter_ids:
        return {}
    rows = conn.execute(select(promoter_touches.c.promoter_id, func.count()).where(
        promoter_touches.c.workspace_id == workspace_id, promoter_touches.c.promoter_id.in_(list(promoter_ids)))
        .group_by(promoter_touches.c.promoter_id))
    return {int(r[0]): int(r[1]) for r in rows}


def recent_touches(conn: Connection, workspace_id: int, promoter_id: int, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(select(promoter_touches).where(promoter_touches.c.workspace_id == workspace_id,
                                                       promoter_touches.c.promoter_id == promoter_id)
                        .order_by(desc(promoter_touches.c.id)).limit(limit))
    return [{k: v for k, v in r._mapping.items() if k != "workspace_id"} for r in rows]


# --- the plan ---------------------------------------------------------------------------------------

def get_plan(conn: Connection, workspace_id: int) -> tuple[dict[str, Any] | None, int]:
    row = conn.execute(select(commission_plans.c.rules, commission_plans.c.version).where(
        commission_plans.c.workspace_id == workspace_id)).first()
    return (None, 0) if row is None else (dict(row.rules), int(row.version))


def save_plan(conn: Connection, workspace_id: int, rules: dict[str, Any], now: datetime) -> int:
    statement = upsert(conn, commission_plans).values(workspace_id=workspace_id, rules=rules, version=1,
                                                      updated_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=["workspace_id"], set_={
        "rules": rules, "version": commission_plans.c.version + 1, "updated_at": now}))
    return get_plan(conn, workspace_id)[1]


# --- the log ----------------------------------------------------------------------------------------

def log_bound(conn: Connection, workspace_id: int, position: int, limit: int) -> tuple[int, int | None]:
    """How many log entries (at most ``limit``) follow ``position``, and the last one's id."""
    # ``workspace_id + 0``: walk ids from the cursor (siyu.segments.realtime_store.log_entries_after says why)
    ids = select(events.c.id).where((events.c.workspace_id + 0) == workspace_id, events.c.id > position) \
        .order_by(events.c.id).limit(limit).subquery()
    count, bound = conn.execute(select(func.count(), func.max(ids.c.id))).one()
    return int(count), bound


def order_events(conn: Connection, workspace_id: int, position: int, bound: int, names: Sequence[str]) -> list[Any]:
    """The log entries in (position, bound] named one of ``names``, in id order."""
    return list(conn.execute(select(events.c.id, events.c.profile_id, events.c.anonymous_id, events.c.name,
                                    events.c.timestamp, events.c.properties)
                             .where((events.c.workspace_id + 0) == workspace_id, events.c.id > position,
                                    events.c.id <= bound, events.c.name.in_(list(names)))
                             .order_by(events.c.id)))


# --- the ledger -------------------------------------------------------------------------------------

def _commission(row: Any) -> Commission:
    values = {k: v for k, v in row._mapping.items() if k != "workspace_id"}
    values["kind"], values["status"] = EntryKind(values["kind"]), CommissionStatus(values["status"])
    return Commission(**values)


def insert_commission(conn: Connection, workspace_id: int, *, now: datetime, **values: Any) -> bool:
    """Write one ledger row unless its (order, promoter, level, kind) has one: ``INSERT … ON CONFLICT
    DO NOTHING``, so a reprocessed event or a second worker never writes a second."""
    return conn.execute(upsert(conn, commissions).values(
        workspace_id=workspace_id, created_at=now, updated_at=now, **values,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "order_id", "promoter_id", "level", "kind"])
        .returning(commissions.c.id)).first() is not None


def commissions_of_order(conn: Connection, workspace_id: int, order_id: str) -> list[Commission]:
    return [_commission(r) for r in conn.execute(select(commissions).where(
        commissions.c.workspace_id == workspace_id, commissions.c.order_id == order_id).order_by(commissions.c.id))]


def reverse_commission(conn: Connection, workspace_id: int, commission_id: int, now: datetime) -> bool:
    """pending / confirmed → reversed, only if still unpaid: a compare-and-set on the status, so a
    payout that took the row first wins and the refund becomes an adjustment instead."""
    return conn.execute(update(commissions).where(
        commissions.c.workspace_id == workspace_id, commissions.c.id == commission_id,
        commissions.c.status.in_([CommissionStatus.PENDING.value, CommissionStatus.CONFIRMED.value]),
    ).values(status=CommissionStatus.REVERSED.value, reversed_at=now, updated_at=now)).rowcount == 1


def confirm_due(conn: Connection, workspace_id: int, now: datetime) -> int:
    """pending rows whose refund window has passed → confirmed."""
    return conn.execute(update(commissions).where(
        commissions.c.workspace_id == workspace_id, commissions.c.status == CommissionStatus.PENDING.value,
        commissions.c.confirm_after <= now,
    ).values(status=CommissionStatus.CONFIRMED.value, confirmed_at=now, updated_at=now)).rowcount


def list_commissions(conn: Connection, workspace_id: int, *, promoter_id: int | None = None,
                     status: str | None = None, since: datetime | None = None, until: datetime | None = None,
                     payout_id: int | None = None, before_id: int | None = None,
                     limit: int | None = 100) -> list[Commission]:
    """Ledger rows, newest first; ``since`` / ``until`` bound when the row was written."""
    query = select(commissions).where(commissions.c.workspace_id == workspace_id)
    for column, value in ((commissions.c.promoter_id, promoter_id), (commissions.c.status, status),
                          (commissions.c.payout_id, payout_id)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(commissions.c.created_at >= since)
    if until is not None:
        query = query.where(commissions.c.created_at < until)
    if before_id is not None:
        query = query.where(commissions.c.id < before_id)
    query = query.order_by(desc(commissions.c.id))
    return [_commission(r) for r in conn.execute(query if limit is None else query.limit(limit))]


def balances(conn: Connection, workspace_id: int, promoter_id: int | None = None) -> dict[int, dict[str, int]]:
    """Per promoter, the sum of their ledger rows in each status (adjustments included), and orders."""
    query = select(commissions.c.promoter_id, commissions.c.status, func.sum(commissions.c.amount_fen),
                   func.count(func.distinct(case((commissions.c.kind == EntryKind.COMMISSION.value,
                                                  commissions.c.order_id))))) \
        .where(commissions.c.workspace_id == workspace_id)
    if promoter_id is not None:
        query = query.where(commissions.c.promoter_id == promoter_id)
    found: dict[int, dict[str, int]] = {}
    for promoter, status, total, orders in conn.execute(query.group_by(commissions.c.promoter_id,
                                                                       commissions.c.status)):
        sums = found.setdefault(int(promoter), {s.value: 0 for s in CommissionStatus} | {"orders": 0})
        sums[status] = int(total or 0)
        sums["orders"] += int(orders or 0)
    return found


# --- payouts ----------------------------------------------------------------------------------------

def insert_payout(conn: Connection, workspace_id: int, key: str, promoter_id: int | None,
                  now: datetime) -> int | None:
    """The new batch's id, or None when ``key`` made one already (``ON CONFLICT DO NOTHING``)."""
    inserted = conn.execute(upsert(conn, commission_payouts).values(
        workspace_id=workspace_id, idempotency_key=key, promoter_id=promoter_id, total_fen=0, entries=0,
        created_at=now).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(commission_payouts.c.id)).first()
    return None if inserted is None else int(inserted[0])


def payable_promoters(conn: Connection, workspace_id: int, promoter_id: int | None) -> list[int]:
    """Promoters whose confirmed rows sum to more than zero (a debt from an adjustment waits)."""
    query = select(commissions.c.promoter_id).where(
        commissions.c.workspace_id == workspace_id, commissions.c.status == CommissionStatus.CONFIRMED.value)
    if promoter_id is not None:
        query = query.where(commissions.c.promoter_id == promoter_id)
    query = query.group_by(commissions.c.promoter_id).having(func.sum(commissions.c.amount_fen) > 0)
    return sorted(int(p) for p in conn.execute(query).scalars())


def pay_confirmed(conn: Connection, workspace_id: int, payout_id: int, promoter_ids: Sequence[int],
                  now: datetime) -> list[int]:
    """confirmed → paid for these promoters' rows, into the batch; the amounts moved. The WHERE on
    the status is re-checked by PostgreSQL after a concurrent payout commits (and SQLite serialises
    writers), so a row lands in exactly one batch and a reversed row in none."""
    if not promoter_ids:
        return []
    return [int(a) for a in conn.execute(update(commissions).where(
        commissions.c.workspace_id == workspace_id, commissions.c.status == CommissionStatus.CONFIRMED.value,
        commissions.c.promoter_id.in_(list(promoter_ids)),
    ).values(status=CommissionStatus.PAID.value, paid_at=now, payout_id=payout_id, updated_at=now)
        .returning(commissions.c.amount_fen)).scalars()]


def settle_payout(conn: Connection, workspace_id: int, payout_id: int, total_fen: int, entries: int) -> None:
    conn.execute(update(commission_payouts).where(commission_payouts.c.workspace_id == workspace_id,
                                                  commission_payouts.c.id == payout_id)
                 .values(total_fen=total_fen, entries=entries))


def get_payout(conn: Connection, workspace_id: int, *, key: str | None = None,
               payout_id: int | None = None) -> dict[str, Any] | None:
    condition = commission_payouts.c.idempotency_key == key if key is not None else \
        commission_payouts.c.id == payout_id
    row = conn.execute(select(commission_payouts).where(commission_payouts.c.workspace_id == workspace_id,
                                                        condition)).first()
    return None if row is None else {k: v for k, v in row._mapping.items() if k != "workspace_id"}


def list_payouts(conn: Connection, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(commission_payouts).where(commission_payouts.c.workspace_id == workspace_id)
                        .order_by(desc(commission_payouts.c.id)).limit(limit))
    return [{k: v for k, v in r._mapping.items() if k != "workspace_id"} for r in rows]


def paid_total(conn: Connection, workspace_id: int) -> tuple[int, int]:
    """(sum of the batches' totals, sum of the paid rows): equal, always."""
    batches = conn.execute(select(func.coalesce(func.sum(commission_payouts.c.total_fen), 0)).where(
        commission_payouts.c.workspace_id == workspace_id)).scalar_one()
    rows = conn.execute(select(func.coalesce(func.sum(commissions.c.amount_fen), 0)).where(and_(
        commissions.c.workspace_id == workspace_id, commissions.c.status == CommissionStatus.PAID.value))).scalar_one()
    return int(batches), int(rows)
