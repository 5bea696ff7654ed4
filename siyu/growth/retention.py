"""The 7- and 30-day retention of the customers a campaign brought, against the other people first
seen during the campaign by their first channel — over the analytics engine's mirror of the event
log and with its definitions (:mod:`siyu.analytics.reports.channel_store`'s 30-day retention):

* a person's first day is the local day (workspace time zone) of their first event of their own
  (:func:`~siyu.analytics.reports.retention_store.first_seen_sql`);
* **retained N days**: an event of their own (not one siyu wrote about them,
  :func:`~siyu.analytics.reports.system_events.activity_sql`) on any of local days 1…N after it;
* only people whose N days are over count (``matured``); the rate is retained ÷ matured.

The campaign's group is its new customers (credited, new by the identity graph); everyone else first
seen in the campaign's window is grouped by first channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import sync
from siyu.analytics.reports.calendar import DAY_MS, local_day, local_day_sql
from siyu.analytics.reports.retention_store import UNKNOWN_CHANNEL, first_seen_sql
from siyu.analytics.reports.system_events import activity_sql
from siyu.db.types import to_millis
from siyu.growth.models import Campaign
from siyu.runtime import Runtime

WINDOWS = (7, 30)
CAMPAIGN_GROUP = "campaign"
MAX_COHORT = 100_000  # ids written into the query; a bigger campaign is measured on its first 100k


def _returned(days: int, day: str) -> str:
    return f"""EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = :workspace_id AND e.profile_id = t.profile_id
                 AND {activity_sql("e.name")} AND e.timestamp >= t.first_ms
                 AND {day.replace("{column}", "e.timestamp")} BETWEEN t.first_day + 1 AND t.first_day + {days})"""


def retention_by_group(rt: Runtime, workspace_id: int, campaign: Campaign, cohort: list[int], timezone: str,
                       now: datetime) -> list[dict[str, Any]]:
    """One row per group (the campaign's first, then channels by size): people, and for 7 and 30 days
    matured, retained and the rate (None before anyone matured)."""
    zone = ZoneInfo(timezone)
    start_ms, end_ms = to_millis(campaign.starts_at), to_millis(min(campaign.ends_at, now)) + 1  # now included
    day = local_day_sql("{column}", zone, start_ms - DAY_MS, end_ms + (max(WINDOWS) + 1) * DAY_MS)
    ids = ", ".join(str(int(p)) for p in cohort[:MAX_COHORT]) or "NULL"
    figures = ", ".join(f"count(*) FILTER (WHERE first_day + {n} < :today), "
                        f"count(*) FILTER (WHERE first_day + {n} < :today AND r{n})" for n in WINDOWS)
    sql = f"""
        WITH people AS ({first_seen_sql()}),
        touched AS (
            SELECT profile_id, first_ms, {day.replace("{column}", "first_ms")} AS first_day,
                   CASE WHEN profile_id IN ({ids}) THEN '{CAMPAIGN_GROUP}'
                        ELSE coalesce(first_channel, '{UNKNOWN_CHANNEL}') END AS grp
            FROM people WHERE first_ms >= :start_ms AND first_ms < :end_ms),
        flagged AS (SELECT t.*, {", ".join(f"{_returned(n, day)} AS r{n}" for n in WINDOWS)} FROM touched t)
        SELECT grp, count(*), {figures} FROM flagged GROUP BY grp"""
    sync(rt, workspace_id)
    with open_engine(rt, workspace_id, use_aggregates=False) as engine:
        engine.execute("SET enable_progress_bar = false")
        rows = engine.execute(sql, {"workspace_id": workspace_id, "start_ms": start_ms, "end_ms": end_ms,
                                    "today": local_day(to_millis(now), zone)}).all()
    groups = []
    for row in rows:
        values: list[Any] = list(row)
        found: dict[str, Any] = {"group": values[0], "people": int(values[1])}
        for index, days in enumerate(WINDOWS):
            matured, retained = int(values[2 + 2 * index]), int(values[3 + 2 * index])
            found[f"matured_{days}d"], found[f"retained_{days}d"] = matured, retained
            found[f"retention_{days}d"] = round(retained / matured, 4) if matured else None
        groups.append(found)
    return sorted(groups, key=lambda g: (g["group"] != CAMPAIGN_GROUP, -g["people"], g["group"]))
