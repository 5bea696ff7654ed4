"""Run a customer-value fit for one workspace: read its orders, fit, write the scores and the fit.

The CLI (``siyu clv fit``) and the API (``POST /api/clv/fit``) both call :func:`run_fit`. Orders are
read in one read transaction, the models are fitted with no transaction open (a fit takes seconds
on a large shop, and SQLite must not hold its single write lock meanwhile), and the scores and the
fit record are written together in one write transaction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from siyu import clock
from siyu.analytics import clv_store
from siyu.analytics.clv import ClvFit, ClvOptions, CustomerValues, fit_orders
from siyu.analytics.clv_summary import Orders
from siyu.db.engine import read, write
from siyu.db.types import from_millis
from siyu.workspaces import store as workspace_store

MAX_MERGE_HOPS = 64  # merge chains are short; the bound only guards against a corrupt cycle


def order_amount(revenue: Any, total: Any) -> float:
    """``properties.revenue``, else ``properties.total``; numbers or numeric strings, else 0."""
    for value in (revenue, total):
        if value is None or isinstance(value, bool):
            continue
        try:
            amount = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(amount):
            return amount
    return 0.0


def live_owner(profile_id: int, gone: dict[int, tuple[int | None, bool]]) -> int | None:
    """The live profile an order belongs to: itself, or where it was merged (events of merged-away
    profiles are re-pointed at merge time; this is the belt to those braces). None when erased."""
    current: int | None = profile_id
    for _ in range(MAX_MERGE_HOPS):
        if current is None or current not in gone:
            return current
        merged_into, erased = gone[current]
        if erased:
            return None
        current = merged_into
    return None


def orders_of_live_profiles(
    lines: Iterable[tuple[int, int, Any, Any]], gone: dict[int, tuple[int | None, bool]], zone: ZoneInfo
) -> Orders:
    """Order lines as :class:`Orders`, each dated by its day in the workspace's time zone."""
    rows: list[tuple[int, date, float]] = []
    for profile_id, millis, revenue, total in lines:
        owner = live_owner(int(profile_id), gone)
        if owner is not None:
            rows.append((owner, from_millis(int(millis)).astimezone(zone).date(), order_amount(revenue, total)))
    return Orders.from_rows(rows)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def score_rows(values: CustomerValues, gone: dict[int, tuple[int | None, bool]]) -> list[dict[str, Any]]:
    rows = []
    for i, profile_id in enumerate(values.customers.tolist()):
        if profile_id in gone:  # merged or erased while the fit ran
            continue
        p_alive = _finite(values.p_alive[i])
        rows.append(
            {
                "profile_id": profile_id,
                "p_alive": p_alive,
                "churn_risk": None if p_alive is None else 1.0 - p_alive,
                "expected_purchases": _finite(values.expected_purchases[i]),
                "expected_order_value": _finite(values.expected_order_value[i]),
                "clv": _finite(values.clv[i]),
            }
        )
    return rows


def _parameters(result: ClvFit, scored: int) -> dict[str, Any]:
    return {
        "bgnbd": result.bgnbd.as_dict(),
        "gamma_gamma": result.gamma_gamma.as_dict(),
        "repeat_customers": result.repeat_customers,
        "observation_end": result.observation_end.isoformat(),
        "horizon_days": result.options.horizon_days,
        "discount_rate": result.options.discount_rate,
        "scored": scored,
        "diagnostics": result.diagnostics,
    }


def describe_fit(row: dict[str, Any]) -> dict[str, Any]:
    """A stored fit as the CLI prints it and the API returns it."""
    parameters = row["parameters"]
    return {
        "fit_id": row["id"],
        "customers": row["customers"],
        "bgnbd": parameters["bgnbd"],
        "gamma_gamma": parameters["gamma_gamma"],
        "time_unit": row["time_unit"],
        "calibration_end": row["calibration_end"],
        "observation_end": parameters["observation_end"],
        "repeat_customers": parameters["repeat_customers"],
        "horizon_days": parameters["horizon_days"],
        "discount_rate": parameters["discount_rate"],
        "scored": parameters["scored"],
        "diagnostics": parameters["diagnostics"],
        "holdout": row["holdout"],
        "created_at": row["created_at"].isoformat(),
    }


def run_fit(engine: Engine, workspace_id: int, options: ClvOptions, *, now: datetime | None = None) -> dict[str, Any]:
    """Fit the workspace's customer-value models, store the scores and the fit, and describe the fit."""
    with read(engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
        gone = clv_store.gone_profiles(conn, workspace.id)
        orders = orders_of_live_profiles(clv_store.order_lines(conn, workspace.id), gone, ZoneInfo(workspace.timezone))
    result = fit_orders(orders, options)
    at = now or clock.now()
    with write(engine) as conn:
        rows = score_rows(result.values, clv_store.gone_profiles(conn, workspace.id))
        scored = clv_store.write_scores(conn, workspace.id, rows, at)
        fit_id = clv_store.insert_fit(
            conn,
            workspace.id,
            time_unit=options.time_unit.value,
            calibration_end=options.calibration_end.isoformat() if options.calibration_end else None,
            customers=result.customers,
            parameters=_parameters(result, scored),
            holdout=result.holdout,
            at=at,
        )
        row = clv_store.get_fit(conn, workspace.id, fit_id)
    assert row is not None
    return describe_fit(row)
