"""SQL of customer value: read orders, write fits and the value columns of ``profile_scores``.

``profile_scores`` is shared: RFM, lifecycle and KOC jobs own its other columns. Every write here
names the value columns only (p_alive, expected_purchases, expected_order_value, clv, churn_risk,
updated_at), so a fit never erases another job's scores and vice versa.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, insert, or_, select, type_coerce, update

from siyu.db.dialect import upsert
from siyu.db.tables import clv_fits, events, profile_scores, profiles

ORDER_EVENT = "Order Completed"
VALUE_COLUMNS = ("p_alive", "expected_purchases", "expected_order_value", "clv", "churn_risk")
WRITE_BATCH = 2_000


def _valued() -> Any:
    """Rows that a fit has written (any value column set)."""
    return or_(*(profile_scores.c[name].is_not(None) for name in VALUE_COLUMNS))


def order_lines(conn: Connection, workspace_id: int) -> Iterator[tuple[int, int, Any, Any]]:
    """Every order of the workspace: (profile id, epoch milliseconds, properties.revenue, properties.total).

    The two amounts come back as the JSON held them (a number, a string, or None) and are read by
    the caller; the rest of the properties (line items can be large) never leaves the database.
    """
    query = select(
        events.c.profile_id,
        type_coerce(events.c.timestamp, BigInteger),
        events.c.properties["revenue"].as_string(),
        events.c.properties["total"].as_string(),
    ).where(
        events.c.workspace_id == workspace_id,
        events.c.type == "track",
        events.c.name == ORDER_EVENT,
        events.c.profile_id.is_not(None),
    )
    for row in conn.execute(query, execution_options={"yield_per": 10_000}):
        yield row[0], row[1], row[2], row[3]


def gone_profiles(conn: Connection, workspace_id: int) -> dict[int, tuple[int | None, bool]]:
    """Profiles that are no longer live: id -> (merged into, erased)."""
    rows = conn.execute(
        select(profiles.c.id, profiles.c.merged_into, profiles.c.erased_at).where(
            profiles.c.workspace_id == workspace_id,
            or_(profiles.c.merged_into.is_not(None), profiles.c.erased_at.is_not(None)),
        )
    )
    return {int(r.id): (r.merged_into, r.erased_at is not None) for r in rows}


def write_scores(conn: Connection, workspace_id: int, rows: Sequence[dict[str, Any]], at: datetime) -> int:
    """Upsert the value columns of ``rows`` (``profile_id`` + VALUE_COLUMNS); clear them for everyone else.

    Concurrency: two fits of one workspace write in their own transactions, each in profile id
    order, so on PostgreSQL the second waits for the first's row locks instead of deadlocking, and
    the last to commit wins with a complete set (the two never interleave row by row). On SQLite
    the write transaction (BEGIN IMMEDIATE) serialises them outright.
    """
    ordered = sorted(rows, key=lambda r: r["profile_id"])
    statement = upsert(conn, profile_scores)
    statement = statement.on_conflict_do_update(
        index_elements=[profile_scores.c.workspace_id, profile_scores.c.profile_id],
        set_={name: statement.excluded[name] for name in (*VALUE_COLUMNS, "updated_at")},
    )
    for start in range(0, len(ordered), WRITE_BATCH):
        batch = [
            {"workspace_id": workspace_id, "updated_at": at, **row} for row in ordered[start : start + WRITE_BATCH]
        ]
        conn.execute(statement, batch)
    scored = {r["profile_id"] for r in ordered}
    stale = [
        pid
        for pid in conn.execute(
            select(profile_scores.c.profile_id).where(profile_scores.c.workspace_id == workspace_id, _valued())
        ).scalars()
        if pid not in scored
    ]
    for start in range(0, len(stale), WRITE_BATCH):
        conn.execute(
            update(profile_scores)
            .where(
                profile_scores.c.workspace_id == workspace_id,
                profile_scores.c.profile_id.in_(stale[start : start + WRITE_BATCH]),
            )
            .values(**dict.fromkeys(VALUE_COLUMNS), updated_at=at)
        )
    return len(ordered)


def insert_fit(
    conn: Connection,
    workspace_id: int,
    *,
    time_unit: str,
    calibration_end: str | None,
    customers: int,
    parameters: dict[str, Any],
    holdout: dict[str, Any] | None,
    at: datetime,
) -> int:
    return int(
        conn.execute(
            insert(clv_fits)
            .values(
                workspace_id=workspace_id,
                time_unit=time_unit,
                calibration_end=calibration_end,
                customers=customers,
                parameters=parameters,
                holdout=holdout,
                created_at=at,
            )
            .returning(clv_fits.c.id)
        ).scalar_one()
    )


def latest_fit(conn: Connection, workspace_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(clv_fits)
            .where(clv_fits.c.workspace_id == workspace_id)
            .order_by(clv_fits.c.created_at.desc(), clv_fits.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def get_fit(conn: Connection, workspace_id: int, fit_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(select(clv_fits).where(clv_fits.c.workspace_id == workspace_id, clv_fits.c.id == fit_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def profile_value(conn: Connection, workspace_id: int, profile_id: int) -> dict[str, Any] | None:
    """The value scores of one profile, or None when no fit has valued it."""
    row = (
        conn.execute(
            select(
                profile_scores.c.profile_id,
                *(profile_scores.c[name] for name in VALUE_COLUMNS),
                profile_scores.c.updated_at,
            ).where(
                profile_scores.c.workspace_id == workspace_id,
                profile_scores.c.profile_id == profile_id,
                _valued(),
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
