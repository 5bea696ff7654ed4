"""The DuckDB queries behind revenue and the AARRR overview's revenue line (see revenue.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.calendar import DAY_MS, Period, local_day_sql, period_index_sql
from siyu.analytics.reports.models import DateRange
from siyu.analytics.reports.revenue import Figures
from siyu.profiles.rollups import ORDER_EVENT


def revenue_by_period(
    engine: AnalyticsEngine, workspace_id: int, span: DateRange, period: Period, zone: ZoneInfo
) -> tuple[dict[int, Figures], Figures]:
    """``({period index: (revenue, orders, buyers)}, the same for the whole range)``."""
    start_ms, end_ms = span.start_ms(zone), span.end_ms(zone)
    bucket = period_index_sql(local_day_sql("timestamp", zone, start_ms - DAY_MS, end_ms + DAY_MS), period)
    sql = f"""
        SELECT grouping(bucket) = 1 AS is_total, bucket, coalesce(sum(revenue), 0), count(*),
               count(DISTINCT profile_id)
        FROM (SELECT {bucket} AS bucket, revenue, profile_id
              FROM events
              WHERE workspace_id = :workspace_id AND name = :order
                AND timestamp >= :start_ms AND timestamp < :end_ms)
        GROUP BY GROUPING SETS ((bucket), ())"""
    parameters = {"workspace_id": workspace_id, "order": ORDER_EVENT, "start_ms": start_ms, "end_ms": end_ms}
    figures: dict[int, Figures] = {}
    total: Figures = (0.0, 0, 0)
    for is_total, bucket, revenue, orders, buyers in map(tuple, engine.execute(sql, parameters)):
        if is_total:
            total = (float(revenue), orders, buyers)
        else:
            figures[int(bucket)] = (float(revenue), orders, buyers)
    return figures, total
