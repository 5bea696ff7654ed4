"""A small, hand-countable shop for the report tests, and the derived first touch checked against the rollups.

The clock stands at Wednesday 2024-03-20 12:00 in Shanghai. Weeks (Monday first) begin 03-04,
03-11 and 03-18; every timestamp below is local time.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from siyu import clock
from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import sync
from siyu.analytics.reports.retention_store import first_seen_sql
from siyu.db.engine import read
from siyu.db.tables import profiles
from siyu.db.types import to_millis
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=ZONE)
ORDER = "Order Completed"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=ZONE)


def track(
    user: str, name: str, day: str, hour: int = 10, channel: str | None = None, **properties: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "track",
        "userId": user,
        "event": name,
        "timestamp": at(day, hour).isoformat(),
        "properties": properties,
    }
    if channel:
        message["context"] = {"campaign": {"source": channel}}
    return message


def shop() -> list[dict[str, Any]]:
    """a: 小红书, seen 03-04, back 03-12, orders 03-19 (¥100) · b: 天猫, seen 03-06 only ·
    c: 小红书, seen 03-11, back 03-19 · d: seen 02-20 (before every range), orders 03-05 (¥50)."""
    return [
        track("a", "Page Viewed", "2024-03-04", channel="xiaohongshu"),
        track("a", "Page Viewed", "2024-03-12"),
        track("a", ORDER, "2024-03-19", revenue=100),
        track("b", "Page Viewed", "2024-03-06", channel="tmall"),
        track("c", "Page Viewed", "2024-03-11", channel="xiaohongshu"),
        track("c", "Product Viewed", "2024-03-19", sku="A1"),
        track("d", "Page Viewed", "2024-02-20", channel="douyin"),
        track("d", ORDER, "2024-03-05", total=50),
    ]


def open_shop(runtime: Runtime, workspace_id: int, messages: list[dict[str, Any]] | None = None) -> None:
    clock.freeze(NOW)
    send(runtime, workspace_id, shop() if messages is None else messages)


def test_first_seen_and_first_channel_derived_from_events_equal_the_profile_rollups(
    runtime: Runtime, workspace
) -> None:
    rng = random.Random(5)
    base = clock.now() - timedelta(days=60)
    batch = []
    for _ in range(600):
        person = rng.randrange(80)
        channel = rng.choice(["wechat", "douyin", "xiaohongshu", None, None])
        message = {
            "type": "track",
            "userId": f"u{person}",
            "event": rng.choice(["Page Viewed", ORDER]),
            "timestamp": (base + timedelta(minutes=rng.randrange(60 * 24 * 60))).isoformat(),
        }
        if channel:
            message["context"] = {"campaign": {"source": channel}}
        batch.append(message)
    batch.sort(key=lambda m: m["timestamp"])  # the rollup's first touch is order-dependent out of order
    for start in range(0, len(batch), 50):
        send(runtime, workspace.id, batch[start : start + 50])
    sync(runtime, workspace.id)
    with read(runtime.engine) as conn:
        stored = {
            row.id: (to_millis(row.first_seen_at), row.first_channel)
            for row in conn.execute(
                select(profiles.c.id, profiles.c.first_seen_at, profiles.c.first_channel).where(
                    profiles.c.workspace_id == workspace.id, profiles.c.merged_into.is_(None)
                )
            )
        }
    with open_engine(runtime, workspace.id) as engine:
        derived = {
            pid: (first, channel)
            for pid, first, channel in engine.execute(first_seen_sql(), {"workspace_id": workspace.id})
        }
    assert len(derived) == 80 and derived == stored
