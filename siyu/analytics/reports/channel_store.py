"""The DuckDB query behind the channel report and the AARRR overview's first three lines (see channels.py).

New customers and their 30-day returns come from the mirror's aggregates when they are complete for
the time zone (``first_touch``, ``person_days``), else from raw events; orders always from events.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.calendar import DAY_MS, day_number, local_day, local_day_sql
from siyu.analytics.reports.channels import Figures
from siyu.analytics.reports.models import DateRange
from siyu.analytics.reports.retention_store import UNKNOWN_CHANNEL, first_seen_in_range_sql
from siyu.analytics.reports.system_events import activity_sql
from siyu.db.types import to_millis
from siyu.profiles.rollups import ORDER_EVENT

RETURN_DAYS = 30
REVENUE_DAYS = 90
ACTIVATION_DAYS = 7


def _returned_sql(aggregated: bool, day: str) -> str:
    """New customers (``touched``, matured) with an event of their own on local days 1-30 after their first."""
    if aggregated:
        # Everyone first seen in the range has first_day + 1 ... first_day + 30 inside these bounds.
        return f"""
            SELECT DISTINCT t.profile_id
            FROM touched t JOIN person_days d ON d.profile_id = t.profile_id
            WHERE d.workspace_id = :workspace_id AND t.first_day + {RETURN_DAYS} < :today AND {activity_sql("d.name")}
              AND d.day > :start_day AND d.day < :end_day + {RETURN_DAYS}
              AND d.day BETWEEN t.first_day + 1 AND t.first_day + {RETURN_DAYS}"""
    return f"""
        SELECT DISTINCT t.profile_id
        FROM touched t JOIN events e ON e.profile_id = t.profile_id
        WHERE e.workspace_id = :workspace_id AND t.first_day + {RETURN_DAYS} < :today AND {activity_sql("e.name")}
          AND e.timestamp >= :start_ms AND e.timestamp >= t.first_ms AND e.timestamp < :returns_end_ms
          AND {day.replace("{column}", "e.timestamp")} BETWEEN t.first_day + 1 AND t.first_day + {RETURN_DAYS}"""


def new_customer_figures(
    engine: AnalyticsEngine, workspace_id: int, span: DateRange, zone: ZoneInfo, now: datetime
) -> tuple[dict[str, Figures], Figures, int]:
    """``({channel: (new, matured, returned, buyers, revenue)}, the total, people activated within 7 days)``."""
    start_ms, end_ms = span.start_ms(zone), span.end_ms(zone)
    returns_end_ms = end_ms + (RETURN_DAYS + 1) * DAY_MS
    day = local_day_sql("{column}", zone, start_ms - DAY_MS, returns_end_ms)
    aggregated = engine.aggregates_ready(zone)
    returned = _returned_sql(aggregated, day)
    sql = f"""
        WITH people AS ({first_seen_in_range_sql(aggregated)}),
        touched AS (
            SELECT profile_id, first_ms, {day.replace("{column}", "first_ms")} AS first_day,
                   coalesce(first_channel, '{UNKNOWN_CHANNEL}') AS channel
            FROM people),
        returned AS ({returned}),
        bought AS (
            SELECT t.profile_id, sum(coalesce(e.revenue, 0)) AS revenue,
                   min(e.timestamp) < any_value(t.first_ms) + {ACTIVATION_DAYS * DAY_MS} AS activated
            FROM touched t JOIN events e ON e.profile_id = t.profile_id
            WHERE e.workspace_id = :workspace_id AND e.name = :order
              AND e.timestamp >= :start_ms AND e.timestamp < :end_ms + {REVENUE_DAYS * DAY_MS}
              AND e.timestamp >= t.first_ms AND e.timestamp < t.first_ms + {REVENUE_DAYS * DAY_MS}
            GROUP BY t.profile_id)
        SELECT grouping(channel) = 1 AS is_total, channel, count(*),
               count(*) FILTER (WHERE first_day + {RETURN_DAYS} < :today), count(r.profile_id), count(b.profile_id),
               coalesce(sum(b.revenue), 0), count(*) FILTER (WHERE b.activated)
        FROM touched t LEFT JOIN returned r ON r.profile_id = t.profile_id
             LEFT JOIN bought b ON b.profile_id = t.profile_id
        GROUP BY GROUPING SETS ((channel), ())"""
    parameters = {
        "workspace_id": workspace_id,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "order": ORDER_EVENT,
        "returns_end_ms": returns_end_ms,
        "start_day": day_number(span.first),
        "end_day": day_number(span.last) + 1,
        "today": local_day(to_millis(now), zone),
    }
    figures: dict[str, Figures] = {}
    total: Figures = (0, 0, 0, 0, 0.0)
    activated = 0
    for is_total, channel, new, matured, returned, buyers, revenue, active in map(
        tuple, engine.execute(sql, parameters)
    ):
        row = (new, matured, returned, buyers, round(float(revenue), 2))
        if is_total:
            total, activated = row, active
        else:
            figures[channel] = row
    return figures, total, activated
