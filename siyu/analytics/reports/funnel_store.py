"""The DuckDB query behind funnels (definitions in :mod:`siyu.analytics.reports.funnel`).

The events of the steps' names are read once (a materialised CTE), each step is a join of the
previous step's people with those events, and the last statement counts people per step — per
breakdown value and in total, through ``GROUPING SETS``. A person's first channel is derived from
their events as for retention (from the ``first_touch`` aggregate when it is complete); a trait
comes from the profile snapshot (at most ``SIYU_ANALYTICS_SNAPSHOT_SECONDS`` old).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.mirror_aggregates import order_key
from siyu.analytics.reports.funnel import FunnelCounts, FunnelGroup
from siyu.analytics.reports.models import FunnelQuery
from siyu.analytics.reports.retention_store import UNKNOWN_CHANNEL
from siyu.analytics.reports.system_events import activity_sql

NO_VALUE = "(none)"  # a trait the person does not have


def _steps_sql(query: FunnelQuery) -> tuple[str, dict[str, Any]]:
    """The CTEs ``relevant`` (the steps' events, read once) and ``step_1`` ... ``step_n``.

    Each step keeps ``event_key``, the ``(timestamp, id)`` of the person's matching event as one HUGEINT
    that orders like the pair (:func:`~siyu.analytics.mirror_aggregates.order_key`): comparing and
    taking the minimum of numbers is several times cheaper than of two-element lists. ``reached``
    is that event's timestamp: the smallest key has the smallest timestamp.
    """
    parameters: dict[str, Any] = {}
    flags, names = [], []
    for k, step in enumerate(query.steps, start=1):
        parameters[f"name_{k}"] = step.name
        names.append(f":name_{k}")
        if step.property is None:
            flags.append(f"name = :name_{k} AS is_{k}")  # events.name is never NULL
            continue
        parameters[f"property_{k}"], parameters[f"value_{k}"] = step.property, step.value
        flags.append(f"coalesce(name = :name_{k} AND properties ->> :property_{k} = :value_{k}, false) AS is_{k}")
    any_step = " OR ".join(f"is_{k}" for k in range(1, len(query.steps) + 1))
    ctes = [
        f"""
        relevant AS MATERIALIZED (
            SELECT * FROM (
                SELECT profile_id, {order_key("timestamp", "id")} AS event_key, timestamp, {", ".join(flags)}
                FROM events
                WHERE workspace_id = :workspace_id AND profile_id IS NOT NULL AND name IN ({", ".join(names)})
                  AND timestamp >= :start_ms AND timestamp < :end_ms + :window_ms)
            WHERE {any_step})""",
        """
        step_1 AS (
            SELECT profile_id, min(event_key) AS event_key, min(timestamp) AS reached, min(timestamp) AS started
            FROM relevant WHERE is_1 AND timestamp < :end_ms GROUP BY profile_id)""",
    ]
    for k in range(2, len(query.steps) + 1):
        ctes.append(f"""
        step_{k} AS (
            SELECT p.profile_id, min(e.event_key) AS event_key, min(e.timestamp) AS reached,
                   any_value(p.started) AS started
            FROM step_{k - 1} p JOIN relevant e ON e.profile_id = p.profile_id
            WHERE e.is_{k} AND e.event_key > p.event_key AND e.timestamp < p.started + :window_ms
            GROUP BY p.profile_id)""")
    return ",".join(ctes), parameters


def _breakdown_sql(query: FunnelQuery, aggregated: bool) -> tuple[str, str, dict[str, Any]]:
    """(the breakdown expression, its join, parameters)."""
    if query.breakdown is None:
        return "CAST(NULL AS VARCHAR)", "", {}
    if query.breakdown.trait is None:
        if aggregated:
            key = order_key("channel_ms", "channel_id")
            touch = f"""
                SELECT profile_id, arg_min(channel, {key}) FILTER (WHERE channel IS NOT NULL) AS channel
                FROM first_touch
                WHERE workspace_id = :workspace_id AND profile_id IN (SELECT profile_id FROM step_1)
                GROUP BY profile_id"""
        else:
            touch = f"""
                SELECT profile_id, arg_min(channel, [timestamp, id]) FILTER (WHERE channel IS NOT NULL) AS channel
                FROM events
                WHERE workspace_id = :workspace_id AND profile_id IN (SELECT profile_id FROM step_1)
                  AND {activity_sql()}
                GROUP BY profile_id"""
        join = f"LEFT JOIN ({touch}) touch ON touch.profile_id = s1.profile_id"
        return f"coalesce(touch.channel, '{UNKNOWN_CHANNEL}')", join, {}
    join = "LEFT JOIN profiles person ON person.id = s1.profile_id AND person.workspace_id = :workspace_id"
    return f"coalesce(person.traits ->> :trait, '{NO_VALUE}')", join, {"trait": query.breakdown.trait}


def funnel_counts(engine: AnalyticsEngine, workspace_id: int, query: FunnelQuery, zone: ZoneInfo) -> FunnelCounts:
    steps = len(query.steps)
    ctes, parameters = _steps_sql(query)
    breakdown, join, more = _breakdown_sql(query, engine.aggregates_ready(zone))
    sql = _final_sql(ctes, breakdown, join, steps, by_breakdown=query.breakdown is not None)
    parameters |= more | {
        "workspace_id": workspace_id,
        "start_ms": query.range.start_ms(zone),
        "end_ms": query.range.end_ms(zone),
        "window_ms": int(query.window.total_seconds() * 1000),
    }
    total = FunnelGroup(None, (0,) * steps, (None,) * steps)
    groups = []
    for row in map(tuple, engine.execute(sql, parameters)):
        people = tuple(int(n) for n in row[2 : 2 + steps])
        medians = (None, *(None if m is None else round(m / 1000, 1) for m in row[2 + steps :]))
        if row[0]:
            total = FunnelGroup(None, people, medians)
        else:
            groups.append(FunnelGroup(row[1], people, medians))
    return FunnelCounts(total, tuple(groups))


def _final_sql(ctes: str, breakdown: str, join: str, steps: int, *, by_breakdown: bool) -> str:
    joins = " ".join(f"LEFT JOIN step_{k} s{k} ON s{k}.profile_id = s1.profile_id" for k in range(2, steps + 1))
    selected = ", ".join(f"s{k}.profile_id AS p{k}, s{k}.reached AS t{k}" for k in range(2, steps + 1))
    counts = ", ".join(["count(*)", *(f"count(p{k})" for k in range(2, steps + 1))])
    medians = ", ".join(f"median(t{k} - t{k - 1})" for k in range(2, steps + 1))
    # Per breakdown value and the grand total in one pass; without a breakdown, the total only.
    if by_breakdown:
        head, tail = "grouping(breakdown) = 1 AS is_total, breakdown", "GROUP BY GROUPING SETS ((breakdown), ())"
    else:
        head, tail = "true AS is_total, NULL AS breakdown", ""
    return f"""
        WITH {ctes},
        joined AS (
            SELECT s1.profile_id, s1.reached AS t1, {breakdown} AS breakdown, {selected}
            FROM step_1 s1 {joins} {join})
        SELECT {head}, {counts}, {medians}
        FROM joined {tail}"""
