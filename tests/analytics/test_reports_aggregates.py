"""The mirror's aggregates give every report exactly the raw events' answers — through late events,
merges, erasures, compaction, a rebuild and a change of time zone — on both databases.

Each report is run twice on the same mirror: once as the console runs it (the aggregates, when
complete) and once told to read raw events only (the reference). A shop of 70 people over 120
days is sent in rounds, with a sync after each, so the aggregates are built piece by piece the
way ``siyu serve`` builds them; rows are compared whole.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from siyu import clock
from siyu.analytics import mirror_aggregates
from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import mirror_directory, rebuild, sync
from siyu.analytics.reports import models
from siyu.analytics.reports.run import ReportContext, report_context, run_report
from siyu.db.engine import write
from siyu.db.tables import workspaces
from siyu.identity.models import Identifier
from siyu.identity.store import find_profile_id
from siyu.profiles.read_store import erase_profile, resolve_profile_id
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_scenario import NOW, ORDER, at

NAMES = ["Page Viewed", "Product Viewed", "Product Added", ORDER, "Invite Accepted", "Tag Added", "Segment Entered"]
WEIGHTS = [30, 20, 10, 8, 2, 3, 3]  # the last two are names siyu reserves for what it writes itself
CHANNELS = ["wechat", "douyin", "xiaohongshu", None, None, None]
FUNNEL = ["Page Viewed", "Product Viewed", "Product Added", ORDER]


def shop_events(rng: random.Random, count: int, *, days_back: int, people: int = 70) -> list[dict[str, Any]]:
    """Events of ``people`` people (users and anonymous devices) over the ``days_back`` days before NOW,
    at any hour — local midnight included — and in no particular order."""
    batch = []
    for _ in range(count):
        person = rng.randrange(people)
        when = NOW - timedelta(days=rng.randrange(days_back), hours=rng.randrange(24), minutes=rng.choice([0, 1, 59]))
        name = rng.choices(NAMES, WEIGHTS)[0]
        message: dict[str, Any] = {"type": "track", "event": name, "timestamp": when.isoformat(), "properties": {}}
        message |= {"userId": f"u{person}"} if person % 3 else {"anonymousId": f"device-{person}"}
        if name == ORDER:
            message["properties"] = {"total": rng.randrange(10, 500)}
        channel = rng.choice(CHANNELS)
        if channel:
            message["context"] = {"campaign": {"source": channel}}
        batch.append(message)
    return batch


def queries(today: Any) -> list[Any]:
    span = {"start": "2023-12-01", "end": "2024-03-20"}
    return [
        models.parse_retention(**span, period="week", event=None, breakdown="channel", today=today),
        models.parse_retention(
            start="2024-01-01", end="2024-03-20", period="day", event=None, breakdown=None, today=today
        ),
        models.parse_retention(**span, period="month", event=ORDER, breakdown="channel", today=today),
        models.parse_retention(**span, period="week", event="Tag Added", breakdown=None, today=today),
        models.parse_activity(start="2024-02-01", end="2024-03-20", event=None, today=today),
        models.parse_activity(start="2024-02-01", end="2024-03-20", event="Segment Entered", today=today),
        models.parse_channels(**span, today=today),
        models.parse_overview(start="2024-01-15", end="2024-03-10", today=today),
        models.parse_repurchase(**span, today=today),
        models.parse_funnel(**span, steps=FUNNEL, window="7d", breakdown="channel", today=today),
    ]


def assert_aggregates_agree_with_raw_events(runtime: Runtime, workspace_id: int) -> None:
    clock.freeze(NOW)
    context = report_context(runtime, workspace_id)
    sync(runtime, workspace_id)
    with open_engine(runtime, workspace_id) as engine:
        assert engine.aggregates_ready(context.zone), "the aggregates should be complete after a sync"
    raw = replace(context, use_aggregates=False)
    for query in queries(context.today):
        assert run_report(context, query).as_dict() == run_report(raw, query).as_dict(), query


def victim_id(runtime: Runtime, workspace_id: int, user: str) -> int:
    with write(runtime.engine) as conn:
        found = find_profile_id(conn, workspace_id, Identifier("user_id", user))
        assert found is not None
        return resolve_profile_id(conn, workspace_id, found)


@pytest.fixture
def small_merge_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Merge aggregate files two at a time, so a handful of syncs exercises every tier."""
    monkeypatch.setattr(mirror_aggregates, "MERGE_FANOUT", 2)


def test_aggregates_agree_through_late_events_merges_and_erasures(
    runtime: Runtime, workspace, small_merge_tiers: None
) -> None:
    rng = random.Random(11)
    clock.freeze(NOW)
    send(runtime, workspace.id, shop_events(rng, 400, days_back=60))
    sync(runtime, workspace.id)
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    # Late: events from 60-120 days ago arrive now, moving people's first-seen day and channel earlier.
    for _ in range(3):
        send(runtime, workspace.id, shop_events(rng, 100, days_back=120))
        sync(runtime, workspace.id, compact_after_parts=2)
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    # Merges: devices turn out to be users, after both were summarised apart.
    send(
        runtime,
        workspace.id,
        [{"type": "identify", "userId": f"u{n + 1}", "anonymousId": f"device-{n}"} for n in range(0, 30, 3)],
    )
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    # Erasure: the person's channels leave the files, their events keep counting.
    erased = victim_id(runtime, workspace.id, "u4")
    with write(runtime.engine) as conn:
        erase_profile(conn, workspace.id, erased, actor="test", reason="PIPL request", at=clock.now())
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    send(runtime, workspace.id, shop_events(rng, 150, days_back=120))
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    manifest = mirror_directory(runtime, workspace.id).read_manifest()
    assert manifest.aggregates and len(manifest.aggregates.person_days) < 6  # merged as they came
    rebuild(runtime, workspace.id)
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)


def test_a_new_time_zone_rebuilds_the_aggregates_for_its_days(runtime: Runtime, workspace) -> None:
    rng = random.Random(12)
    clock.freeze(NOW)
    send(runtime, workspace.id, shop_events(rng, 500, days_back=120))
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    before = mirror_directory(runtime, workspace.id).read_manifest().aggregates
    # New York changed its clocks on 2024-03-10, inside the data: days are cut at two offsets.
    with write(runtime.engine) as conn:
        conn.execute(update(workspaces).where(workspaces.c.id == workspace.id).values(timezone="America/New_York"))
    assert_aggregates_agree_with_raw_events(runtime, workspace.id)
    after = mirror_directory(runtime, workspace.id).read_manifest().aggregates
    assert before.basis != after.basis and "America/New_York" in after.basis
    assert not (before.files() & after.files())


def test_where_a_clock_went_back_across_midnight_reports_read_raw_events(runtime: Runtime, workspace) -> None:
    # Newfoundland turned 00:01 NDT back to 23:01 NST on 2005-10-30 (02:31 UTC): after the 30th had
    # begun, an hour of the 29th came again. n1 is seen at 00:00:30 on the 30th, n2 at 23:10 on the
    # 29th — ten minutes later. Summed by day, n2 would belong to a range ending on the 29th, which
    # by timestamp it does not; so the aggregates are not used for this workspace.
    with write(runtime.engine) as conn:
        conn.execute(update(workspaces).where(workspaces.c.id == workspace.id).values(timezone="America/St_Johns"))
    clock.freeze(at("2005-11-20"))
    messages = [
        {"type": "track", "userId": "n1", "event": "Page Viewed", "timestamp": "2005-10-30T02:30:30+00:00"},
        {"type": "track", "userId": "n2", "event": "Page Viewed", "timestamp": "2005-10-30T02:40:00+00:00"},
    ]
    send(runtime, workspace.id, messages)
    sync(runtime, workspace.id)
    context = report_context(runtime, workspace.id)
    with open_engine(runtime, workspace.id) as engine:
        assert not engine.aggregates_ready(context.zone)
    assert not mirror_directory(runtime, workspace.id).read_manifest().aggregates.days_run_forward
    for last in ("2005-10-29", "2005-10-30"):
        query = models.parse_activity(start="2005-10-20", end=last, event=None, today=context.today)
        raw = run_report(replace(context, use_aggregates=False), query).as_dict()
        assert run_report(context, query).as_dict() == raw


def test_reports_fall_back_to_raw_events_until_the_aggregates_cover_every_part(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    send(runtime, workspace.id, shop_events(random.Random(13), 200, days_back=30))
    sync(runtime, workspace.id)
    directory = mirror_directory(runtime, workspace.id)
    manifest = directory.read_manifest()
    manifest.aggregates.events -= 1  # as if a part had been added without its summary
    directory.write_manifest(manifest)
    context: ReportContext = report_context(runtime, workspace.id)
    with open_engine(runtime, workspace.id) as engine:
        assert not engine.aggregates_ready(context.zone)
    sync(runtime, workspace.id)  # the next sync notices and summarises everything again
    with open_engine(runtime, workspace.id) as engine:
        assert engine.aggregates_ready(context.zone)
