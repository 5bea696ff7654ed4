"""The DuckDB query behind the repurchase rate (see repurchase.py): from the ``person_days`` aggregate's
order rows when it is complete for the time zone, else from raw events."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.calendar import DAY_MS, Period, day_number, local_day_sql, period_index_sql
from siyu.analytics.reports.models import RepurchaseQuery
from siyu.analytics.reports.repurchase import Cohort
from siyu.profiles.rollups import ORDER_EVENT


def repurchase_cohorts(
    engine: AnalyticsEngine, workspace_id: int, query: RepurchaseQuery, zone: ZoneInfo
) -> tuple[dict[int, Cohort], Cohort]:
    """``({first-order month: (buyers, repeat buyers, orders)}, the same for all months)``."""
    start_ms, end_ms = query.range.start_ms(zone), query.range.end_ms(zone)
    # Only buyers first ordering inside the range are kept, so every order whose day matters is inside it.
    day = local_day_sql("timestamp", zone, start_ms - DAY_MS, end_ms + DAY_MS)
    month = period_index_sql("first_day", Period.MONTH)
    if engine.aggregates_ready(zone):
        # Local days run forward (or the aggregates are not used), so the first order's day is the least day.
        buyers = """
            SELECT profile_id, min(day) AS first_day, count(DISTINCT day) AS order_days, sum(events) AS orders
            FROM person_days
            WHERE workspace_id = :workspace_id AND name = :order AND day < :end_day
            GROUP BY profile_id
            HAVING min(day) >= :start_day"""
    else:
        buyers = f"""
            SELECT profile_id, arg_min({day}, timestamp) AS first_day,
                   count(DISTINCT {day}) AS order_days, count(*) AS orders
            FROM events
            WHERE workspace_id = :workspace_id AND profile_id IS NOT NULL AND name = :order AND timestamp < :end_ms
            GROUP BY profile_id
            HAVING min(timestamp) >= :start_ms"""
    sql = f"""
        WITH buyers AS ({buyers})
        SELECT grouping(month) = 1 AS is_total, month, count(*), count(*) FILTER (WHERE order_days >= 2), sum(orders)
        FROM (SELECT {month} AS month, order_days, orders FROM buyers)
        GROUP BY GROUPING SETS ((month), ())"""
    parameters = {
        "workspace_id": workspace_id,
        "order": ORDER_EVENT,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "start_day": day_number(query.range.first),
        "end_day": day_number(query.range.last) + 1,
    }
    cohorts: dict[int, Cohort] = {}
    total: Cohort = (0, 0, 0)
    for is_total, month_index, buyers, repeat, orders in map(tuple, engine.execute(sql, parameters)):
        figures = (buyers, repeat, int(orders or 0))
        if is_total:
            total = figures
        else:
            cohorts[int(month_index)] = figures
    return cohorts, total
