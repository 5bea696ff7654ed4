"""The DuckDB query behind retention cohorts (see :mod:`siyu.analytics.reports.retention` for the definitions).

A person's first-seen instant and first channel are derived from the mirrored events themselves —
``min(timestamp)``, and the channel of the earliest event that carried one — rather than read
from the profile snapshot, which is copied once a minute: an event that arrives late with an old
timestamp moves its person into an earlier cohort in the very next report. Like the rollups, they
leave out the events siyu writes about a person (``SYSTEM_EVENTS``), and they equal
``profiles.first_seen_at`` and ``profiles.first_channel`` as the rollups keep them (a test checks).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.calendar import DAY_MS, local_day_sql, period_index_sql
from siyu.analytics.reports.models import RetentionQuery
from siyu.analytics.reports.retention import RetentionCounts
from siyu.analytics.reports.system_events import activity_sql

UNKNOWN_CHANNEL = "unknown"  # what the console shows as 未知 / Unknown (siyu.web.i18n.TERMS)


def first_seen_sql(workspace_id_param: str = ":workspace_id") -> str:
    """Each person's first event instant and first-touch channel, over the events that are their own.

    A ``Consent Changed`` event carries ``properties.channel`` (``sms``…), so without the filter it
    could even become someone's first channel.
    """
    return f"""
        SELECT profile_id, min(timestamp) AS first_ms,
               arg_min(channel, [timestamp, id]) FILTER (WHERE channel IS NOT NULL) AS first_channel
        FROM events
        WHERE workspace_id = {workspace_id_param} AND profile_id IS NOT NULL AND {activity_sql()}
        GROUP BY profile_id"""


def retention_counts(
    engine: AnalyticsEngine, workspace_id: int, query: RetentionQuery, zone: ZoneInfo
) -> RetentionCounts:
    start_ms, end_ms = query.range.start_ms(zone), query.range.end_ms(zone)
    cohort = period_index_sql(local_day_sql("first_ms", zone, start_ms - DAY_MS, end_ms + DAY_MS), query.period)
    period = period_index_sql(local_day_sql("timestamp", zone, start_ms - DAY_MS, end_ms + DAY_MS), query.period)
    breakdown = f"coalesce(first_channel, '{UNKNOWN_CHANNEL}')" if query.by_channel else "CAST(NULL AS VARCHAR)"
    # The default returning event is "any event" the person did; a chosen one counts whatever it is.
    returning = "AND name = :event" if query.event is not None else f"AND {activity_sql()}"
    sql = f"""
        WITH people AS ({first_seen_sql()}
            HAVING min(timestamp) >= :start_ms AND min(timestamp) < :end_ms),
        cohorts AS (SELECT profile_id, {cohort} AS cohort, {breakdown} AS breakdown FROM people),
        returns AS (
            SELECT DISTINCT profile_id, {period} AS period
            FROM events
            WHERE workspace_id = :workspace_id AND profile_id IS NOT NULL
              AND timestamp >= :start_ms AND timestamp < :end_ms {returning}),
        offsets AS (
            SELECT c.cohort, c.breakdown, c.profile_id, r.period - c.cohort AS n
            FROM cohorts c JOIN returns r ON r.profile_id = c.profile_id AND r.period >= c.cohort)
        SELECT 'people' AS kind, cohort, breakdown, 0 AS n, count(*) AS people FROM cohorts GROUP BY ALL
        UNION ALL
        SELECT 'returned', cohort, breakdown, n, count(*) FROM offsets GROUP BY ALL
        UNION ALL
        SELECT 'last', cohort, breakdown, n, count(*)
        FROM (SELECT cohort, breakdown, max(n) AS n FROM offsets GROUP BY cohort, breakdown, profile_id)
        GROUP BY ALL"""
    parameters = {"workspace_id": workspace_id, "start_ms": start_ms, "end_ms": end_ms, "event": query.event}
    people: dict[tuple[int, str | None], int] = {}
    returned: dict[tuple[int, str | None, int], int] = {}
    last_return: dict[tuple[int, str | None, int], int] = {}
    for kind, cohort_index, value, offset, count in map(tuple, engine.execute(sql, parameters)):
        if kind == "people":
            people[(cohort_index, value)] = count
        elif kind == "returned":
            returned[(cohort_index, value, offset)] = count
        else:
            last_return[(cohort_index, value, offset)] = count
    return RetentionCounts(people, returned, last_return)
