"""The console's home figures: days are cut in the workspace's time zone, "new" means first seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import clock
from siyu.analytics.store import home_figures
from siyu.db.engine import read, write
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime
from tests.conftest import make_workspace

# 01:00 on 2 June in Shanghai (UTC+8) is 17:00 on 1 June in UTC.
NOW = datetime(2024, 6, 1, 17, 0, tzinfo=UTC)


def arrive(runtime: Runtime, workspace_id: int, user_id: str, at: datetime, channel: str | None,
           event: str = "Signed Up") -> None:
    context = {"campaign": {"source": channel}} if channel else {}
    message = parse_message({"type": "track", "userId": user_id, "event": event, "context": context,
                             "timestamp": at.isoformat()}, received_at=clock.now())
    with write(runtime.engine) as conn:
        ingest(conn, workspace_id, [message], rules=DEFAULT_RULES)


def figures(runtime: Runtime, workspace_id: int, timezone: str = "Asia/Shanghai") -> dict:
    with read(runtime.engine) as conn:
        return home_figures(conn, workspace_id, clock.now(), timezone)


def test_today_is_the_workspaces_day_not_utcs(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    arrive(runtime, workspace.id, "late-yesterday", NOW - timedelta(hours=1, minutes=30), "xiaohongshu")  # 23:30
    arrive(runtime, workspace.id, "just-after-midnight", NOW - timedelta(minutes=30), "tmall_card")  # 00:30
    shanghai = figures(runtime, workspace.id)
    assert (shanghai["customers"], shanghai["new_today"], shanghai["events_today"]) == (2, 1, 1)
    assert shanghai["days"][-1].isoformat() == "2024-06-02" and len(shanghai["days"]) == 30
    assert shanghai["by_channel"]["xiaohongshu"][-2:] == [1, 0]
    assert shanghai["by_channel"]["tmall_card"][-2:] == [0, 1]
    london = figures(runtime, workspace.id, "Europe/London")  # 18:00 on 1 June: both arrived "today"
    assert london["new_today"] == 2 and london["days"][-1].isoformat() == "2024-06-01"


def test_new_means_first_seen_so_an_old_customer_returning_today_is_not_new(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    arrive(runtime, workspace.id, "old-friend", NOW - timedelta(days=400), "store")
    arrive(runtime, workspace.id, "old-friend", NOW - timedelta(minutes=5), None, event="Product Viewed")
    result = figures(runtime, workspace.id)
    assert (result["customers"], result["new_today"], result["events_today"]) == (1, 0, 1)
    assert result["by_channel"] == {}  # first touch was 400 days ago, outside the 30-day chart


def test_customers_without_a_channel_are_counted_as_unknown(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    arrive(runtime, workspace.id, "no-utm", NOW - timedelta(days=3), None)
    assert figures(runtime, workspace.id)["by_channel"] == {"unknown": [0] * 26 + [1, 0, 0, 0]}


def test_another_workspaces_customers_are_not_counted(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    other = make_workspace(runtime, "other")
    arrive(runtime, other.id, "theirs", NOW - timedelta(minutes=10), "search")
    result = figures(runtime, workspace.id)
    assert (result["customers"], result["new_today"], result["events_today"], result["by_channel"]) == (0, 0, 0, {})


def test_merged_profiles_count_once(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    with write(runtime.engine) as conn:
        ingest(conn, workspace.id, [parse_message(m, received_at=clock.now()) for m in (
            {"type": "track", "anonymousId": "device-1", "event": "Product Viewed", "timestamp": "2024-06-01T16:10Z"},
            {"type": "track", "userId": "u1", "event": "Signed Up", "timestamp": "2024-06-01T16:20Z"},
            {"type": "identify", "userId": "u1", "anonymousId": "device-1", "timestamp": "2024-06-01T16:30Z"},
        )], rules=DEFAULT_RULES)
    result = figures(runtime, workspace.id)
    assert (result["customers"], result["new_today"], result["events_today"]) == (1, 1, 3)
