"""The DuckDB query behind DAU / WAU / MAU: window-opening and -closing changes per day (see activity.py).

The active (person, day) pairs come from the ``person_days`` aggregate when it is complete for the
time zone, else from raw events (``retention_store.active_periods_sql``): the same pairs.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.activity import WIDTHS
from siyu.analytics.reports.calendar import Period, day_number, local_day_sql, midnight_ms
from siyu.analytics.reports.models import ActivityQuery
from siyu.analytics.reports.retention_store import active_periods_sql
from siyu.analytics.reports.system_events import activity_sql


def active_day_changes(
    engine: AnalyticsEngine, workspace_id: int, query: ActivityQuery, zone: ZoneInfo
) -> dict[str, list[tuple[int, int]]]:
    """``{"dau"|"wau"|"mau": [(day, +n or -n), ...]}`` over the range and the 29 days before it.

    Without a chosen event, a day is active for a person when they did anything on it: the events
    siyu writes about them (``SYSTEM_EVENTS``) do not count. A chosen event counts whatever it is.
    """
    lookback = query.range.first - timedelta(days=max(WIDTHS.values()) - 1)
    lookback_ms, end_ms = midnight_ms(lookback, zone), query.range.end_ms(zone)
    day = local_day_sql("timestamp", zone, lookback_ms, end_ms)
    widths = ", ".join(f"('{key}', {width})" for key, width in WIDTHS.items())
    chosen = "name = :event" if query.event is not None else activity_sql()
    days = active_periods_sql(engine.aggregates_ready(zone), day, Period.DAY, chosen)
    sql = f"""
        WITH days AS ({days}),
        ordered AS (SELECT period AS day, lag(period) OVER (PARTITION BY profile_id ORDER BY period) AS previous
                    FROM days),
        widths(window_name, width) AS (VALUES {widths})
        SELECT window_name, greatest(day, coalesce(previous + width, day)) AS point, count(*) AS delta
        FROM ordered CROSS JOIN widths GROUP BY ALL
        UNION ALL
        SELECT window_name, day + width, -count(*) FROM ordered CROSS JOIN widths GROUP BY ALL"""
    changes: dict[str, list[tuple[int, int]]] = {key: [] for key in WIDTHS}
    parameters = {
        "workspace_id": workspace_id,
        "start_ms": lookback_ms,
        "end_ms": end_ms,
        "start_day": day_number(lookback),
        "end_day": day_number(query.range.last) + 1,
        "event": query.event,
    }
    for window_name, point, delta in map(tuple, engine.execute(sql, parameters)):
        changes[window_name].append((int(point), int(delta)))
    return changes
