"""The mirror's files: parts ordered by time, aggregates that follow syncs, erasures and compaction."""

from __future__ import annotations

import random

import duckdb
import pytest

from siyu import clock
from siyu.analytics import mirror_aggregates, mirror_rewrite
from siyu.analytics.mirror import mirror_directory, status, sync
from siyu.db.engine import write
from siyu.profiles.read_store import erase_profile
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_aggregates import shop_events, victim_id
from tests.analytics.test_reports_scenario import NOW


def rows_of(paths: list[str], sql: str) -> list[tuple]:
    return duckdb.connect().execute(sql.replace("FILES", "read_parquet(?)"), [paths]).fetchall()


def test_compaction_orders_parts_by_event_and_time_whatever_order_events_arrived_in(
    runtime: Runtime, workspace
) -> None:
    clock.freeze(NOW)
    send(runtime, workspace.id, shop_events(random.Random(1), 300, days_back=90))
    sync(runtime, workspace.id)
    send(runtime, workspace.id, shop_events(random.Random(2), 30, days_back=90))
    sync(runtime, workspace.id)
    send(runtime, workspace.id, shop_events(random.Random(3), 30, days_back=90))
    report = sync(runtime, workspace.id, compact_after_parts=2)
    assert report.compacted and report.parts == 1
    directory = mirror_directory(runtime, workspace.id)
    (part,) = directory.read_manifest().parts
    stored = [tuple(r) for r in rows_of([str(directory.file(part.file))], "SELECT name, timestamp, id FROM FILES")]
    assert len(stored) == 360 and stored == sorted(stored)


def test_a_new_part_spanning_row_groups_is_sorted_before_it_is_listed(
    runtime: Runtime, workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mirror_rewrite, "ROW_GROUP_ROWS", 50)  # a part of 200 events is then "large"
    clock.freeze(NOW)
    send(runtime, workspace.id, shop_events(random.Random(4), 200, days_back=90))
    sync(runtime, workspace.id)
    directory = mirror_directory(runtime, workspace.id)
    manifest = directory.read_manifest()
    stored = rows_of([str(directory.file(p.file)) for p in manifest.parts], "SELECT name, timestamp, id FROM FILES")
    assert len(stored) == 200 and [tuple(r) for r in stored] == sorted(tuple(r) for r in stored)
    assert {path.name for path in directory.files.iterdir()} == manifest.live_files()  # the unsorted one is gone


def test_an_erased_persons_channel_leaves_the_aggregate_files(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    send(
        runtime,
        workspace.id,
        [
            {
                "type": "track",
                "userId": "erase-me",
                "event": "Page Viewed",
                "context": {"campaign": {"source": "douyin"}},
            },
            {
                "type": "track",
                "userId": "keep-me",
                "event": "Page Viewed",
                "context": {"campaign": {"source": "wechat"}},
            },
        ],
    )
    sync(runtime, workspace.id)
    erased = victim_id(runtime, workspace.id, "erase-me")
    with write(runtime.engine) as conn:
        erase_profile(conn, workspace.id, erased, actor="test", reason="PIPL request", at=clock.now())
    sync(runtime, workspace.id)
    directory = mirror_directory(runtime, workspace.id)
    manifest = directory.read_manifest()
    touch = [str(directory.file(e.file)) for e in manifest.aggregates.first_touch]
    assert set(rows_of(touch, "SELECT channel FROM FILES")) == {(None,), ("wechat",)}
    days = [str(directory.file(e.file)) for e in manifest.aggregates.person_days]
    assert rows_of(days, "SELECT sum(events) FROM FILES") == [(2,)]  # erasure keeps events' names and times


def test_aggregate_files_are_merged_by_size_tier(runtime: Runtime, workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_aggregates, "MERGE_FANOUT", 3)
    rng = random.Random(5)
    clock.freeze(NOW)
    for _ in range(10):
        send(runtime, workspace.id, shop_events(rng, 20, days_back=30))
        sync(runtime, workspace.id)
        aggregates = mirror_directory(runtime, workspace.id).read_manifest().aggregates
        for files in (aggregates.person_days, aggregates.first_touch):
            tiers = [len(str(e.rows)) for e in files]
            assert all(tiers.count(t) < 3 for t in tiers)
    figures = status(runtime, workspace.id)
    assert figures["aggregate_bytes"] == aggregates.bytes() > 0
    assert figures["bytes"] >= figures["event_bytes"] + figures["aggregate_bytes"]
