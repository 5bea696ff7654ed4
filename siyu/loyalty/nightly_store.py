"""The nightly job's set-based statements: each touches every member (or every due lot) of a
workspace in a handful of statements, never a Python loop per member, so 1M members take seconds
(bench/bench_loyalty.py). The tier a growth value qualifies for is a ``CASE`` built from the ladder
(a few tiers), the same rule as :func:`siyu.loyalty.tiers.qualified_rank`.

Callers hold the ``loyalty.events`` cursor for the tier statements, so event processing (the only
other writer of tiers and growth) waits; the INSERT into the history and the UPDATE then see the
same rows. Points expiry locks the members concerned first (``FOR UPDATE``, in profile order, on
PostgreSQL), the same order as a spend (member, then their lots), so they can't deadlock and the
balance moves by exactly what the lots lose.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, case, cast, func, literal, select, update
from sqlalchemy.sql.elements import ColumnElement

from siyu.db.tables import loyalty_members, points_entries, points_lots, tier_changes
from siyu.db.types import to_millis

M, L = loyalty_members.c, points_lots.c


def qualified(thresholds: Sequence[int], growth: ColumnElement[Any]) -> ColumnElement[Any]:
    whens = [(growth >= threshold, rank) for rank, threshold in reversed(list(enumerate(thresholds))) if rank > 0]
    return case(*whens, else_=0) if whens else literal(0)


def last_change_id(conn: Connection, workspace_id: int) -> int:
    return int(conn.execute(select(func.coalesce(func.max(tier_changes.c.id), 0)).where(
        tier_changes.c.workspace_id == workspace_id)).scalar_one())


def _history(conn: Connection, workspace_id: int, to_rank: ColumnElement[Any], reason: str,
             where: ColumnElement[bool], now: datetime) -> None:
    conn.execute(tier_changes.insert().from_select(
        ["workspace_id", "profile_id", "from_rank", "to_rank", "reason", "growth_value", "changed_at"],
        select(M.workspace_id, M.profile_id, M.tier_rank, to_rank, literal(reason), M.growth_value,
               literal(to_millis(now))).where(M.workspace_id == workspace_id, where)))


def close_period(conn: Connection, workspace_id: int, thresholds: Sequence[int], grace_until: datetime,
                 now: datetime) -> int:
    """The period's growth becomes ``previous_growth`` and the new period starts at 0; members whose
    period growth fell short of their tier get a pending downgrade (``grace`` in the history)."""
    rank = qualified(thresholds, M.growth_value)
    short = rank < M.tier_rank
    _history(conn, workspace_id, rank, "grace", short, now)
    result = conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id).values(
        previous_growth=M.growth_value, growth_value=0,
        downgrade_to=case((short, rank), else_=None),
        downgrade_at=case((short, literal(to_millis(grace_until))), else_=None)))
    return result.rowcount


def settle_graces(conn: Connection, workspace_id: int, thresholds: Sequence[int], now: datetime) -> int:
    """Graces that ended: the member drops to the announced tier, or to what the new period's growth
    already reached if higher (never above the tier held)."""
    by_growth = qualified(thresholds, M.growth_value)
    floor = case((by_growth > M.downgrade_to, by_growth), else_=M.downgrade_to)
    new_rank = case((floor < M.tier_rank, floor), else_=M.tier_rank)
    due = and_(M.downgrade_at.is_not(None), M.downgrade_at <= now)
    _history(conn, workspace_id, new_rank, "downgrade", and_(due, new_rank < M.tier_rank), now)
    result = conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, due).values(
        tier_rank=new_rank, tier_since=case((new_rank < M.tier_rank, literal(to_millis(now))), else_=M.tier_since),
        downgrade_to=None, downgrade_at=None, updated_at=now))
    return result.rowcount


def changes_since(conn: Connection, workspace_id: int, after_id: int) -> list[Any]:
    return list(conn.execute(select(tier_changes).where(tier_changes.c.workspace_id == workspace_id,
                                                        tier_changes.c.id > after_id).order_by(tier_changes.c.id)))


def expire_lots(conn: Connection, workspace_id: int, now: datetime) -> int:
    """Every lot past its expiry loses its remaining points: an ``expire`` entry per lot, the members'
    balances lowered by the same sums, the lots emptied (``expired_points`` keeps what they lost)."""
    due = and_(L.workspace_id == workspace_id, L.remaining > 0, L.expires_at.is_not(None), L.expires_at <= now)
    if conn.dialect.name == "postgresql":
        conn.execute(select(M.profile_id).where(M.workspace_id == workspace_id, M.profile_id.in_(
            select(L.profile_id).where(due))).order_by(M.profile_id).with_for_update()).all()
    conn.execute(points_entries.insert().from_select(
        ["workspace_id", "profile_id", "idempotency_key", "kind", "points", "order_id", "lot_id", "reason",
         "created_at"],
        select(L.workspace_id, L.profile_id, literal("expire:") + cast(L.id, String), literal("expire"), -L.remaining,
               L.order_id, L.id, literal("expiry"), literal(to_millis(now))).where(due)))
    sums = select(L.profile_id, func.sum(L.remaining).label("total")).where(due).group_by(L.profile_id).subquery()
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == sums.c.profile_id)
                 .values(points_balance=M.points_balance - sums.c.total, updated_at=now))
    return conn.execute(update(points_lots).where(due).values(expired_points=L.remaining, remaining=0)).rowcount


def members_with_due_lots(conn: Connection, workspace_id: int, now: datetime) -> list[int]:
    """The members :func:`expire_lots` is about to take points from (the same lots), read before it
    empties them: their ``Points Changed`` entries are written after it (siyu.loyalty.store)."""
    due = and_(L.workspace_id == workspace_id, L.remaining > 0, L.expires_at.is_not(None), L.expires_at <= now)
    return [int(p) for p in conn.execute(select(L.profile_id).where(due).distinct()).scalars()]


def remind_lots(conn: Connection, workspace_id: int, horizon: datetime, now: datetime) -> list[tuple[int, int, Any]]:
    """Lots expiring by ``horizon`` not reminded yet, marked reminded: (profile, points, expires_at)."""
    rows = conn.execute(update(points_lots).where(
        L.workspace_id == workspace_id, L.remaining > 0, L.reminded_at.is_(None), L.expires_at.is_not(None),
        L.expires_at <= horizon).values(reminded_at=now).returning(L.profile_id, L.remaining, L.expires_at))
    return [(int(r[0]), int(r[1]), r[2]) for r in rows]


def members_for_monthly(conn: Connection, workspace_id: int, ranks: Sequence[int], month: int,
                        limit: int) -> list[tuple[int, int]]:
    """(profile, tier) of members in a tier with a monthly benefit not granted for ``month`` yet."""
    return [(int(r[0]), r[1]) for r in conn.execute(select(M.profile_id, M.tier_rank).where(
        M.workspace_id == workspace_id, M.tier_rank.in_(list(ranks)),
        (M.monthly_granted.is_(None)) | (M.monthly_granted != month)).order_by(M.profile_id).limit(limit))]


def mark_monthly(conn: Connection, workspace_id: int, profile_ids: Sequence[int], month: int) -> None:
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id.in_(list(profile_ids)))
                 .values(monthly_granted=month))
