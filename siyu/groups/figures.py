"""Join counts per group per day, in the workspace's time zone (pure, and one reader over the store)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection


def day_range(today: date, days: int) -> list[date]:
    """The last ``days`` days ending with ``today``, oldest first."""
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def joins_by_day(joins: list[tuple[int, datetime]], zone: ZoneInfo, days: list[date]) -> list[dict[str, object]]:
    """``[{"day": "YYYY-MM-DD", "joins": n, "by_group": {group_id: n}}]`` for each day, zeros included."""
    table: dict[date, dict[int, int]] = {day: {} for day in days}
    for group_id, at in joins:
        day = at.astimezone(zone).date()
        if day in table:
            table[day][group_id] = table[day].get(group_id, 0) + 1
    return [{"day": day.isoformat(), "joins": sum(counts.values()), "by_group": counts}
            for day, counts in table.items()]


def join_figures(conn: Connection, workspace_id: int, group_ids: list[int], zone: ZoneInfo, days: int,
                 now: datetime) -> list[dict[str, Any]]:
    """Joins per day over the last ``days`` days (today included), per group, from the kept members."""
    from siyu.groups import store

    span = day_range(now.astimezone(zone).date(), days)
    since = datetime.combine(span[0], datetime.min.time(), zone)
    found = store.joins_per_day(conn, workspace_id, group_ids, since, since + timedelta(days=days))
    return joins_by_day(found, zone, span)
