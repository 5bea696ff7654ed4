"""SQL for the console's home figures.

"New" means first seen (the time of the person's first event), not the time the profile row was
written: an import of last year's orders must not make last year's customers "new today". Days
are cut in the workspace's time zone, at its current UTC offset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from siyu.db.tables import events, profiles
from siyu.db.types import to_millis

DAY_MS = 86_400_000


def _live(workspace_id: int) -> list[Any]:
    return [profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None), profiles.c.erased_at.is_(None)]


def home_figures(conn: Connection, workspace_id: int, now: datetime, timezone: str, days: int = 30) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    utc_offset = local_now.utcoffset()
    offset_ms = int(utc_offset.total_seconds() * 1000) if utc_offset else 0
    start = today - timedelta(days=days - 1)
    customers = conn.execute(select(func.count()).select_from(profiles).where(*_live(workspace_id))).scalar_one()
    new_today = conn.execute(select(func.count()).select_from(profiles).where(
        *_live(workspace_id), profiles.c.first_seen_at >= today)).scalar_one()
    events_today = conn.execute(select(func.count()).select_from(events).where(
        events.c.workspace_id == workspace_id, events.c.timestamp >= today)).scalar_one()
    day = (profiles.c.first_seen_at + offset_ms) // DAY_MS  # floor division on both databases
    rows = conn.execute(select(day.label("day"), profiles.c.first_channel, func.count()).where(
        *_live(workspace_id), profiles.c.first_seen_at >= start).group_by(day, profiles.c.first_channel)).all()
    first_day = (to_millis(start) + offset_ms) // DAY_MS
    labels = [(start + timedelta(days=i)).date() for i in range(days)]
    series: dict[str, list[int]] = {}
    for day_number, channel, count in rows:
        position = int(day_number) - first_day
        if 0 <= position < days:
            series.setdefault(channel or "unknown", [0] * days)[position] += count
    return {"customers": customers, "new_today": new_today, "events_today": events_today, "days": labels,
            "by_channel": dict(sorted(series.items(), key=lambda kv: -sum(kv[1])))}
