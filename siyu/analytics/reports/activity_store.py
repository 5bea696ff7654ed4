"""The DuckDB query behind DAU / WAU / MAU: window-opening and -closing changes per day (see activity.py)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.activity import WIDTHS
from siyu.analytics.reports.calendar import local_day_sql, midnight_ms
from siyu.analytics.reports.models import ActivityQuery
from siyu.analytics.reports.system_events import activity_sql


def active_day_changes(
    engine: AnalyticsEngine, workspace_id: int, query: ActivityQuery, zone: ZoneInfo
) -> dict[str, list[tuple[int, int]]]:
    """``{"dau"|"wau"|"mau": [(day, +n or -n), ...]}`` over the range and the 29 days before it.

    Without a chosen event, a day is active for a person when they did anything on it: the events
    siyu writes about them (``SYSTEM_EVENTS``) do not count. A chosen event counts whatever it is.
    """
    lookback_ms = midnight_ms(query.range.first - timedelta(days=max(WIDTHS.values()) - 1), zone)
    end_ms = query.range.end_ms(zone)
    day = local_day_sql("timestamp", zone, lookback_ms, end_ms)
    widths = ", ".join(f"('{key}', {width})" for key, width in WIDTHS.items())
    chosen = "AND name = :event" if query.event is not None else f"AND {activity_sql()}"
    sql = f"""
        WITH days AS (
            SELECT DISTINCT profile_id, {day} AS day
            FROM events
            WHERE workspace_id = :workspace_id AND profile_id IS NOT NULL
              AND timestamp >= :start_ms AND timestamp < :end_ms {chosen}),
        ordered AS (SELECT day, lag(day) OVER (PARTITION BY profile_id ORDER BY day) AS previous FROM days),
        widths(window_name, width) AS (VALUES {widths})
        SELECT window_name, greatest(day, coalesce(previous + width, day)) AS point, count(*) AS delta
        FROM ordered CROSS JOIN widths GROUP BY ALL
        UNION ALL
        SELECT window_name, day + width, -count(*) FROM ordered CROSS JOIN widths GROUP BY ALL"""
    changes: dict[str, list[tuple[int, int]]] = {key: [] for key in WIDTHS}
    parameters = {"workspace_id": workspace_id, "start_ms": lookback_ms, "end_ms": end_ms, "event": query.event}
    for window_name, point, delta in map(tuple, engine.execute(sql, parameters)):
        changes[window_name].append((int(point), int(delta)))
    return changes
