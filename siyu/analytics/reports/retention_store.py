"""The DuckDB query behind retention cohorts (see :mod:`siyu.analytics.reports.retention` for the definitions).

A person's first-seen instant and first channel are derived from the mirrored events themselves —
``min(timestamp)``, and the channel of the earliest event that carried one — rather than read
from the profile snapshot, which is copied once a minute: an event that arrives late with an old
timestamp moves its person into an earlier cohort in the very next report. Like the rollups, they
leave out the events siyu writes about a person (``SYSTEM_EVENTS``), and they equal
``profiles.first_seen_at`` and ``profiles.first_channel`` as the rollups keep them (a test checks).

Two sources give the same rows: the mirror's aggregates (``first_touch``, ``person_days``; see
:mod:`siyu.analytics.mirror_aggregates`) when they are complete for the report's time zone, else
the raw ``events``. Finding everyone's first event is a scan of all history in events, a few rows
per person in the aggregates; the report's range starts and ends at local midnights, so "returned
on day d" is the same question of either.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.mirror_aggregates import order_key
from siyu.analytics.reports.calendar import DAY_MS, Period, day_number, local_day_sql, period_index_sql
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


def first_touch_sql(workspace_id_param: str = ":workspace_id") -> str:
    """The rows of :func:`first_seen_sql`, from the ``first_touch`` aggregate (any number of rows per person)."""
    key = order_key("channel_ms", "channel_id")
    return f"""
        SELECT profile_id, min(first_ms) AS first_ms,
               arg_min(channel, {key}) FILTER (WHERE channel IS NOT NULL) AS first_channel
        FROM first_touch
        WHERE workspace_id = {workspace_id_param}
        GROUP BY profile_id"""


def first_seen_in_range_sql(aggregated: bool) -> str:
    """People first seen in ``[:start_ms, :end_ms)``: ``profile_id, first_ms, first_channel``."""
    source = first_touch_sql() if aggregated else first_seen_sql()
    return f"SELECT * FROM ({source}) WHERE first_ms >= :start_ms AND first_ms < :end_ms"


def active_periods_sql(aggregated: bool, raw_day: str, period: Period, chosen: str) -> str:
    """Distinct ``(profile_id, period)`` with an event matching ``chosen`` between ``:start_ms`` and ``:end_ms``.

    ``raw_day`` is the local-day expression over ``timestamp`` for raw events; the aggregate holds
    the day already and reads ``:start_day`` to ``:end_day``, the local days of those midnights.
    """
    if aggregated:
        return f"""
            SELECT DISTINCT profile_id, {period_index_sql("day", period)} AS period
            FROM person_days
            WHERE workspace_id = :workspace_id AND day >= :start_day AND day < :end_day AND {chosen}"""
    return f"""
        SELECT DISTINCT profile_id, {period_index_sql(raw_day, period)} AS period
        FROM events
        WHERE workspace_id = :workspace_id AND profile_id IS NOT NULL
          AND timestamp >= :start_ms AND timestamp < :end_ms AND {chosen}"""


def retention_counts(
    engine: AnalyticsEngine, workspace_id: int, query: RetentionQuery, zone: ZoneInfo
) -> RetentionCounts:
    start_ms, end_ms = query.range.start_ms(zone), query.range.end_ms(zone)
    aggregated = engine.aggregates_ready(zone)
    cohort = period_index_sql(local_day_sql("first_ms", zone, start_ms - DAY_MS, end_ms + DAY_MS), query.period)
    day = local_day_sql("timestamp", zone, start_ms - DAY_MS, end_ms + DAY_MS)
    breakdown = f"coalesce(first_channel, '{UNKNOWN_CHANNEL}')" if query.by_channel else "CAST(NULL AS VARCHAR)"
    # The default returning event is "any event" the person did; a chosen one counts whatever it is.
    returning = "name = :event" if query.event is not None else activity_sql()
    sql = f"""
        WITH people AS ({first_seen_in_range_sql(aggregated)}),
        cohorts AS (SELECT profile_id, {cohort} AS cohort, {breakdown} AS breakdown FROM people),
        returns AS ({active_periods_sql(aggregated, day, query.period, returning)}),
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
    parameters = {
        "workspace_id": workspace_id,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "start_day": day_number(query.range.first),
        "end_day": day_number(query.range.last) + 1,
        "event": query.event,
    }
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
