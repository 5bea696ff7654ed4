"""The mirror under concurrency: several OS processes syncing, readers during compaction, crashes,
and ids that commit out of order on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from siyu import clock
from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import mirror_directory, sync
from siyu.db.tables import events
from siyu.runtime import Runtime
from tests.analytics.test_mirror import mirror_ids, orders, send, store_ids, views
from tests.conftest import make_workspace

SYNC_LOOP = """
import sys
from pathlib import Path
from siyu.analytics.mirror import sync
from siyu.runtime import Runtime

runtime = Runtime.from_config()
workspace_id, stop = int(sys.argv[1]), Path(sys.argv[2])
rounds = 0
print("ready", flush=True)
while True:
    last = stop.exists()
    sync(runtime, workspace_id, compact_after_parts=4)
    rounds += 1
    if last:
        break
print(rounds)
"""


def test_two_processes_syncing_while_events_are_written_mirror_every_event_once(
    runtime: Runtime, workspace, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    environment = {
        **os.environ,
        "SIYU_DATABASE_URL": runtime.config.database_url,
        "SIYU_DATA_DIR": str(runtime.config.data_dir),
    }
    syncers = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC_LOOP, str(workspace.id), str(stop)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert [process.stdout.readline().strip() for process in syncers] == ["ready", "ready"]
        for batch in range(40):
            send(runtime, workspace.id, orders(f"buyer-{batch % 7}", 5, start=batch * 5) + views(f"d-{batch}", 3))
    finally:
        stop.touch()
        outcomes = [process.communicate(timeout=120) for process in syncers]
    rounds = []
    for process, (stdout, stderr) in zip(syncers, outcomes, strict=True):
        assert process.returncode == 0, stderr
        rounds.append(int(stdout.strip()))
    assert sum(rounds) >= 4, rounds  # the two really took turns while events were being written
    sync(runtime, workspace.id)
    mirrored = mirror_ids(runtime, workspace.id)
    assert len(mirrored) == len(set(mirrored)) == 320
    assert mirrored == store_ids(runtime, workspace.id)


def small_parts(runtime: Runtime, workspace_id: int, count: int) -> None:
    for i in range(count):
        send(runtime, workspace_id, orders(f"p{i}", 3, start=i * 3))
        sync(runtime, workspace_id, compact_after_parts=10_000)


def test_a_reader_during_a_compaction_never_sees_duplicates(runtime: Runtime, workspace) -> None:
    small_parts(runtime, workspace.id, 8)
    assert len(mirror_directory(runtime, workspace.id).read_manifest().parts) == 8
    done = threading.Event()
    seen: list[tuple[int, int]] = []

    def read_continuously() -> None:
        while not done.is_set() or len(seen) < 3:
            with open_engine(runtime, workspace.id) as engine:
                seen.append(tuple(engine.execute(select(func.count(), func.count(func.distinct(events.c.id)))).one()))

    with open_engine(runtime, workspace.id) as opened_before:
        reader = threading.Thread(target=read_continuously)
        reader.start()
        try:
            report = sync(runtime, workspace.id, compact_after_parts=2)
        finally:
            done.set()
            reader.join()
        assert report.compacted and report.parts == 1
        # An engine opened before the compaction still reads the old parts (kept for the grace period).
        assert opened_before.scalar(select(func.count()).select_from(events)) == 24
        assert opened_before.refresh() and opened_before.scalar(select(func.count()).select_from(events)) == 24
    assert seen and set(seen) == {(24, 24)}


def test_retired_parts_are_deleted_after_the_grace_period(runtime: Runtime, workspace) -> None:
    small_parts(runtime, workspace.id, 3)
    sync(runtime, workspace.id, compact_after_parts=2)
    directory = mirror_directory(runtime, workspace.id)
    compacted_away = {name for name, _ in directory.read_manifest().retired if name.startswith("events-")}
    assert len(compacted_away) == 3 and all(directory.file(name).exists() for name in compacted_away)
    clock.freeze(clock.now() + timedelta(minutes=11))
    sync(runtime, workspace.id)  # also retakes the (now due) snapshots, retiring the previous ones
    manifest = directory.read_manifest()
    assert not any(directory.file(name).exists() for name in compacted_away)
    assert {p.name for p in directory.files.glob("*")} == manifest.live_files() | {r[0] for r in manifest.retired}
    assert mirror_ids(runtime, workspace.id) == store_ids(runtime, workspace.id)


def test_a_crash_leaves_only_leftovers_that_the_next_sync_removes(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("u", 2))
    sync(runtime, workspace.id)
    directory = mirror_directory(runtime, workspace.id)
    half_written = directory.tmp / "events-deadbeef.parquet"
    half_written.write_bytes(b"PAR1 truncated")
    unlisted = directory.files / "events-renamed-but-not-listed.parquet"
    unlisted.write_bytes(b"PAR1")
    with open_engine(runtime, workspace.id) as engine:  # readers never look at either
        assert engine.scalar(select(func.count()).select_from(events)) == 2
    send(runtime, workspace.id, orders("u", 1, start=5))
    assert sync(runtime, workspace.id).appended == 1
    assert not half_written.exists() and not unlisted.exists()
    assert mirror_ids(runtime, workspace.id) == store_ids(runtime, workspace.id)


def test_a_process_killed_mid_sync_does_not_block_or_corrupt_the_next(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("u", 3))
    environment = {
        **os.environ,
        "SIYU_DATABASE_URL": runtime.config.database_url,
        "SIYU_DATA_DIR": str(runtime.config.data_dir),
    }
    # Take the lock and die holding it, as a syncer killed with -9 would.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time\n"
                "from siyu.analytics.mirror_files import MirrorDirectory, mirror_lock\n"
                "from pathlib import Path\n"
                f"with mirror_lock(MirrorDirectory(Path({str(runtime.config.analytics_path)!r}), {workspace.id}), 5):\n"
                "    print('locked', flush=True)\n"
                "    time.sleep(60)\n"
            ),
        ],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    from siyu.analytics.mirror_errors import MirrorBusy

    with pytest.raises(MirrorBusy):
        sync(runtime, workspace.id, wait_seconds=0)
    holder.kill()
    holder.wait(timeout=10)
    assert sync(runtime, workspace.id, wait_seconds=5).appended == 3


def _sqlite_admits_one_writer_at_a_time(runtime: Runtime) -> None:
    """On SQLite the case cannot arise: while one transaction holds an event id uncommitted, no other
    writer can begin, so ids become visible in the order they were handed out."""
    import sqlite3

    from siyu.db.engine import write

    with write(runtime.engine) as holder:
        holder.execute(text("INSERT INTO events (workspace_id, message_id, type, name, timestamp, received_at, "
                            "source) VALUES (0, 'held', 'track', 'Held', 0, 0, 'test')"))
        second = sqlite3.connect(runtime.engine.url.database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                second.execute("BEGIN IMMEDIATE")
        finally:
            second.close()
        holder.rollback()


def test_an_id_that_commits_after_a_higher_one_is_not_skipped(runtime: Runtime, workspace, backend: str) -> None:
    if backend == "sqlite":
        _sqlite_admits_one_writer_at_a_time(runtime)
        return
    other = make_workspace(runtime, "other")
    # A transaction takes an event id and stays open while another workspace commits a higher one.
    with runtime.engine.connect() as slow:
        transaction = slow.begin()
        early_id = slow.execute(
            text(
                "INSERT INTO events (workspace_id, message_id, type, name, timestamp, received_at, source) "
                "VALUES (:ws, 'slow-1', 'track', 'Slow Event', 0, 0, 'test') RETURNING id"
            ),
            {"ws": workspace.id},
        ).scalar_one()
        send(runtime, other.id, orders("someone", 1))
        report = sync(runtime, workspace.id)
        assert report.watermark > early_id and report.pending_gaps >= 1 and report.appended == 0
        transaction.commit()
    assert sync(runtime, workspace.id).appended == 1
    assert mirror_ids(runtime, workspace.id) == [early_id]
    status_after = sync(runtime, workspace.id)
    assert status_after.pending_gaps == 0


def test_gaps_that_never_fill_are_forgotten_after_the_grace_period(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("u", 1))
    sync(runtime, workspace.id)
    directory = mirror_directory(runtime, workspace.id)
    manifest = directory.read_manifest()
    manifest.gaps = [[1, 1, 0]]  # a rolled-back insert's id, first seen long ago
    directory.write_manifest(manifest)
    assert sync(runtime, workspace.id).pending_gaps == 0


def test_the_background_loop_syncs_every_workspace_and_skips_a_busy_one(runtime: Runtime, workspace) -> None:
    from siyu.analytics.mirror_files import mirror_lock
    from siyu.analytics.mirror_loop import MirrorSyncLoop

    other = make_workspace(runtime, "other")
    send(runtime, workspace.id, orders("a", 2))
    send(runtime, other.id, orders("b", 3))
    loop = MirrorSyncLoop(runtime, interval_seconds=60)
    with mirror_lock(mirror_directory(runtime, workspace.id), 0):  # another process is syncing it
        synced = {report.workspace_id: report.appended for report in loop.run_once()}
    assert workspace.id not in synced and synced[other.id] == 3
    loop.run_once()  # the next round takes the workspace that was busy
    assert mirror_ids(runtime, workspace.id) == store_ids(runtime, workspace.id)


def test_the_started_loop_syncs_at_once_and_stops(runtime: Runtime, workspace) -> None:
    import time

    from siyu.analytics.mirror_loop import MirrorSyncLoop

    send(runtime, workspace.id, orders("a", 2))
    loop = MirrorSyncLoop(runtime, interval_seconds=60).start()  # the first round runs at once, not in 60 s
    deadline = time.monotonic() + 60
    while mirror_ids(runtime, workspace.id) != store_ids(runtime, workspace.id) and time.monotonic() < deadline:
        time.sleep(0.05)  # a real thread: wait for its round (bounded), nothing to travel in time
    loop.stop()
    assert mirror_ids(runtime, workspace.id) == store_ids(runtime, workspace.id)
    assert loop._thread is not None and not loop._thread.is_alive()
