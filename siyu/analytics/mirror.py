"""The columnar mirror of the event log: sync, rebuild, status, and the background sync loop.

What it is. Per workspace, Parquet files (zstd, dictionary-encoded) holding every event once
(each part ordered by time: :mod:`siyu.analytics.mirror_rewrite`), the pre-aggregated tables
derived from them (:mod:`siyu.analytics.mirror_aggregates`), a profile map (merged-away profile ->
survivor, erased flag) and snapshots of the profile-level tables segments need, listed by a
manifest (:mod:`siyu.analytics.mirror_files`). DuckDB reads
them through :mod:`siyu.analytics.engine`. Nothing lives only here: ``siyu analytics rebuild``
recreates it from the operational store at any time.

Following the log by id, not by time. ``events.id`` is the insertion order, so a sync appends the
events with ``id > watermark``; an event that arrives late with an old ``timestamp`` simply gets a
new id and is appended like any other — reports filter on ``timestamp``, the mirror follows
insertion.

Ids that commit out of order. On SQLite writers are serialised (``BEGIN IMMEDIATE``) and ids are
handed out inside the write lock, so commit order is id order. On PostgreSQL ids come from a
sequence when the row is inserted, and two concurrent transactions can commit in the other
order: a sync may see id 101 while 100 is still in flight. So each sync also reads which ids in
``(watermark, highest]`` are committed in *any* workspace (ids only, an index-only scan); the
ids that are not are recorded as pending gaps with the time they were first seen. Every later
sync fetches the workspace's rows in the pending gaps and drops the gaps that are now committed
elsewhere; a gap still empty after :data:`GAP_GRACE` is taken to be a rolled-back insert and
forgotten. The ids query runs before the rows query, so an id committed between them is either
in the rows or still pending, never lost. Limit: a transaction that holds an event id for longer
than ``GAP_GRACE`` before committing is missed until the next rebuild; ``siyu analytics status``
shows the event count of the mirror and of the store so the drift is visible.

What changes after insert. Merges re-point ``events.profile_id`` and erasure scrubs an erased
person's events. Rather than rewrite history on every sync, a sync rewrites the small profile map
when a merge or an erasure was recorded since the last one (and at least every snapshot period)
and the ``events`` view resolves through it; compaction writes the resolved rows back. A new
erasure additionally rewrites, at once, the parts that hold the person's events, so their data
leaves the mirror's files within one sync rather than at the next compaction.

The aggregates move with the parts: the sync that appends parts summarises them in the same
manifest switch, in the workspace's time zone as the store has it now (a different one rebuilds
them), and the sync that scrubs an erased person's parts scrubs their aggregate rows too.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu import clock
from siyu.analytics import mirror_aggregates, mirror_rewrite, mirror_store
from siyu.analytics.mirror_files import (
    FileEntry,
    Manifest,
    MirrorDirectory,
    mirror_lock,
    read_profile_map,
    write_event_part,
    write_profile_map,
    write_table_snapshot,
)
from siyu.analytics.mirror_store import SNAPSHOT_TABLES, EventRow
from siyu.db.engine import read
from siyu.db.types import to_millis
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

GAP_GRACE = timedelta(minutes=2)
GAP_WINDOW_IDS = 1_000_000  # only the newest ids can still be in flight; older ones are settled
PART_ROWS = 2_000_000  # a rebuild starts a new part after this many rows
MAX_MERGE_HOPS = 32
LOCK_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class SyncReport:
    workspace_id: int
    appended: int
    watermark: int
    parts: int
    pending_gaps: int
    profile_map_rewritten: bool
    tables_snapshotted: bool
    compacted: bool
    scrubbed_parts: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mirror_directory(runtime: Runtime, workspace_id: int) -> MirrorDirectory:
    return MirrorDirectory(runtime.config.analytics_path, workspace_id)


def sync(
    runtime: Runtime,
    workspace_id: int,
    *,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    snapshot_tables: bool | None = None,
    compact_after_parts: int = mirror_rewrite.COMPACT_AFTER_PARTS,
) -> SyncReport:
    """Append the workspace's new events to its mirror; refresh the profile map and snapshots if due.

    ``snapshot_tables``: True forces the profile-level snapshots, False skips them, None takes them
    when older than ``SIYU_ANALYTICS_SNAPSHOT_SECONDS``. Raises MirrorBusy if another process holds
    the mirror for longer than ``wait_seconds``.
    """
    directory = mirror_directory(runtime, workspace_id)
    with mirror_lock(directory, wait_seconds):
        now_ms = to_millis(clock.now())
        manifest = directory.remove_leftovers(directory.read_manifest(), now_ms) or Manifest(workspace_id)
        return _sync_locked(runtime, directory, manifest, snapshot_tables, compact_after_parts)


def rebuild(runtime: Runtime, workspace_id: int, *, wait_seconds: float = LOCK_WAIT_SECONDS) -> SyncReport:
    """Recreate the workspace's mirror from the operational store, streaming in bounded chunks.

    The old files stay listed until the new manifest replaces the old one in a single rename, so
    readers see the old mirror, then the new one, and nothing in between.
    """
    directory = mirror_directory(runtime, workspace_id)
    with mirror_lock(directory, wait_seconds):
        now_ms = to_millis(clock.now())
        old = directory.remove_leftovers(directory.read_manifest(), now_ms)
        fresh = Manifest(workspace_id, generation=old.generation if old else 0, retired=old.retired if old else [])
        if old:
            fresh.retire(sorted(old.live_files()), now_ms)
        return _sync_locked(runtime, directory, fresh, True, mirror_rewrite.COMPACT_AFTER_PARTS, force_map=True)


def _sync_locked(
    runtime: Runtime,
    directory: MirrorDirectory,
    manifest: Manifest,
    snapshot_tables: bool | None,
    compact_after_parts: int,
    *,
    force_map: bool = False,
) -> SyncReport:
    started = time.monotonic()
    now_ms = to_millis(clock.now())
    memory_limit = runtime.config.analytics_memory_limit
    # The profile map first: the parts it scrubs are those already written, and events read after
    # it were scrubbed by the erasure itself; an erasure that commits in between is new next time.
    map_rewritten, scrubbed, erasures = _refresh_profile_map(runtime, directory, manifest, now_ms, force_map)
    with read(runtime.engine) as conn:
        zone = ZoneInfo(workspace_store.get_workspace(conn, manifest.workspace_id).timezone)
        upper = max(mirror_store.highest_event_id(conn), manifest.watermark)
        grace_ms = int(GAP_GRACE.total_seconds() * 1000)
        pending = [g for g in manifest.gaps if now_ms - g[2] < grace_ms]
        ranges = [(g[0], g[1]) for g in pending]
        # Ids before rows, always (see the module docstring): an id that commits in between is then
        # in the rows read below or still pending, never neither.
        committed = mirror_store.committed_ids_in_ranges(conn, ranges)
        gaps = _subtract(pending, sorted(committed)) + _find_gaps(conn, manifest.watermark, upper, now_ms)
        refill = mirror_store.events_in_ranges(conn, manifest.workspace_id, ranges)
        fresh = mirror_store.events_after(conn, manifest.workspace_id, manifest.watermark, upper)
        parts, appended, seen = _append(directory, _chain(iter([refill]), fresh), gaps, now_ms, memory_limit)
    changed = bool(parts) or manifest.watermark != upper or gaps != manifest.gaps
    manifest.gaps = _subtract(gaps, seen)
    manifest.parts.extend(parts)
    manifest.watermark = upper
    # The aggregates follow the parts in the same manifest switch, so readers never see one without the other.
    aggregated = mirror_aggregates.follow(directory, manifest, parts, zone, now_ms, memory_limit)
    # A new erasure also refreshes the profile snapshots at once: they hold the person's traits.
    snapshotted = _refresh_tables(runtime, directory, manifest, now_ms, True if erasures else snapshot_tables)
    compacted = mirror_rewrite.compact(directory, manifest, now_ms, memory_limit, after_parts=compact_after_parts)
    compacted = mirror_aggregates.compact(directory, manifest, now_ms, memory_limit) or compacted
    changed = changed or map_rewritten or snapshotted or compacted or bool(scrubbed) or aggregated
    if changed:
        manifest.generation += 1
    manifest.synced_at = now_ms
    directory.write_manifest(manifest, durable=changed)
    return SyncReport(
        manifest.workspace_id,
        appended,
        manifest.watermark,
        len(manifest.parts),
        len(manifest.gaps),
        map_rewritten,
        snapshotted,
        compacted,
        scrubbed,
        round(time.monotonic() - started, 3),
    )


def _find_gaps(conn: Any, after_id: int, upper: int, now_ms: int) -> list[list[int]]:
    """Ranges of ids in ``(after_id, upper]`` committed nowhere (yet), streamed from the id index."""
    start = max(after_id, upper - GAP_WINDOW_IDS)
    gaps: list[list[int]] = []
    previous = start
    for ids in mirror_store.committed_ids_between(conn, start, upper):
        for event_id in ids:
            if event_id > previous + 1:
                gaps.append([previous + 1, event_id - 1, now_ms])
            previous = event_id
    if previous < upper:
        gaps.append([previous + 1, upper, now_ms])
    return gaps


def _subtract(gaps: list[list[int]], ids: Sequence[int]) -> list[list[int]]:
    """Remove the given ids (sorted) from the gap ranges, splitting ranges around them."""
    result = []
    for low, high, seen in sorted(gaps):
        cursor = low
        for event_id in ids[bisect.bisect_left(ids, low) : bisect.bisect_right(ids, high)]:
            if event_id > cursor:
                result.append([cursor, event_id - 1, seen])
            cursor = event_id + 1
        if cursor <= high:
            result.append([cursor, high, seen])
    return result


def _append(
    directory: MirrorDirectory, rows: Iterator[list[EventRow]], gaps: list[list[int]], now_ms: int, memory_limit: str
) -> tuple[list[FileEntry], int, list[int]]:
    """Write rows (read in id order) into parts of at most PART_ROWS rows, each then ordered by time.

    Returns the parts, the row count and the ids that fell inside ``gaps`` (only those are kept:
    a rebuild streams tens of millions of ids).
    """
    lows = [g[0] for g in sorted(gaps)]
    highs = [g[1] for g in sorted(gaps)]
    total = 0
    in_gaps: list[int] = []

    def limited() -> Iterator[list[EventRow]]:
        nonlocal total
        taken = 0
        for chunk in rows:
            for row in chunk:
                position = bisect.bisect_right(lows, row.id) - 1
                if position >= 0 and row.id <= highs[position]:
                    in_gaps.append(row.id)
            total += len(chunk)
            taken += len(chunk)
            yield chunk
            if taken >= PART_ROWS:
                return

    parts = []
    while (part := write_event_part(directory, limited(), now_ms)) is not None:
        parts.append(mirror_rewrite.sort_new_part(directory, part, memory_limit))
        if part.rows < PART_ROWS:
            break
    return parts, total, sorted(in_gaps)


def _chain(*sources: Iterator[list[EventRow]]) -> Iterator[list[EventRow]]:
    for source in sources:
        yield from source


def canonical_profiles(rows: list[tuple[int, int | None, bool]]) -> dict[int, tuple[int, bool]]:
    """profile -> (surviving profile, erased) for merged-away or erased profiles, chains followed."""
    merged_into = {pid: into for pid, into, _ in rows if into is not None}
    erased = {pid for pid, _, is_erased in rows if is_erased}
    mapping = {}
    for pid, _, _ in rows:
        root = pid
        for _ in range(MAX_MERGE_HOPS):
            if root not in merged_into:
                break
            root = merged_into[root]
        mapping[pid] = (root, pid in erased or root in erased)
    return mapping


def _refresh_profile_map(
    runtime: Runtime, directory: MirrorDirectory, manifest: Manifest, now_ms: int, force: bool
) -> tuple[bool, int, int]:
    """Rewrite the profile map if merges or erasures happened; scrub parts of newly erased people.

    Returns (map rewritten, parts scrubbed, people newly erased).
    """
    period_ms = int(runtime.config.analytics_snapshot_seconds * 1000)
    with read(runtime.engine) as conn:
        marks = list(mirror_store.identity_change_marks(conn, manifest.workspace_id))
        due = force or manifest.profile_map is None or now_ms - manifest.profile_map.written_at >= period_ms
        if marks == manifest.identity_marks and not due:
            return False, 0, 0
        rows = [row for chunk in mirror_store.merged_or_erased_profiles(conn, manifest.workspace_id) for row in chunk]
    mapping = canonical_profiles(rows)
    manifest.identity_marks = marks
    previous = read_profile_map(directory, manifest.profile_map)
    if mapping == previous and manifest.profile_map is not None:
        manifest.profile_map.written_at = now_ms
        return False, 0, 0
    if manifest.profile_map is not None:
        manifest.retire([manifest.profile_map.file], now_ms)
    manifest.profile_map = write_profile_map(directory, mapping, now_ms)
    newly_erased = {pid for pid, (_, erased) in mapping.items() if erased and not previous.get(pid, (0, False))[1]}
    memory_limit = runtime.config.analytics_memory_limit
    scrubbed = mirror_rewrite.scrub(directory, manifest, newly_erased, now_ms, memory_limit)
    mirror_aggregates.scrub(directory, manifest, newly_erased, now_ms, memory_limit)
    return True, scrubbed, len(newly_erased)


def _refresh_tables(
    runtime: Runtime, directory: MirrorDirectory, manifest: Manifest, now_ms: int, wanted: bool | None
) -> bool:
    if wanted is False:
        return False
    period_ms = int(runtime.config.analytics_snapshot_seconds * 1000)
    due = [
        name
        for name in SNAPSHOT_TABLES
        if wanted or name not in manifest.tables or now_ms - manifest.tables[name].written_at >= period_ms
    ]
    if not due:
        return False
    with read(runtime.engine) as conn:
        for name in due:
            table, _ = SNAPSHOT_TABLES[name]
            names, chunks = mirror_store.table_rows(conn, manifest.workspace_id, name)
            entry = write_table_snapshot(directory, table, names, chunks, now_ms)
            if name in manifest.tables:
                manifest.retire([manifest.tables[name].file], now_ms)
            manifest.tables[name] = entry
    return True


def status(runtime: Runtime, workspace_id: int) -> dict[str, Any]:
    """Watermark, parts, rows, bytes and lag of a workspace's mirror, next to the operational store."""
    directory = mirror_directory(runtime, workspace_id)
    manifest = directory.read_manifest()
    watermark = manifest.watermark if manifest else 0
    aggregates = manifest.aggregates if manifest else None
    with read(runtime.engine) as conn:
        timezone = workspace_store.get_workspace(conn, workspace_id).timezone
        highest = mirror_store.highest_event_id(conn)
        pending = mirror_store.pending_event_count(conn, workspace_id, watermark)
        store_events = mirror_store.workspace_event_count(conn, workspace_id)
        all_events = mirror_store.all_event_count(conn)
        table_bytes = mirror_store.event_table_bytes(conn)
    # The operational table is shared by all workspaces: prorate its size by this workspace's rows.
    store_bytes = round(table_bytes * store_events / all_events) if table_bytes is not None and all_events else None
    event_bytes = sum(p.bytes for p in manifest.parts) if manifest else 0
    now_ms = to_millis(clock.now())
    return {
        "workspace_id": workspace_id,
        "built": manifest is not None,
        "directory": str(directory.path),
        "watermark": watermark,
        "highest_event_id": highest,
        "lag_ids": max(highest - watermark, 0),
        "pending_events": pending,
        "pending_gaps": sum(g[1] - g[0] + 1 for g in manifest.gaps) if manifest else 0,
        "parts": len(manifest.parts) if manifest else 0,
        "rows": sum(p.rows for p in manifest.parts) if manifest else 0,
        "store_events": store_events,
        "event_bytes": event_bytes,
        "aggregate_bytes": aggregates.bytes() if aggregates else 0,
        "aggregates": _aggregates_status(manifest, timezone) if manifest else None,
        "bytes": directory.size_bytes(manifest) if manifest else 0,
        "store_event_bytes": store_bytes,
        # What the event log costs in the mirror: its parts and the aggregates derived from them.
        "size_ratio": round((event_bytes + (aggregates.bytes() if aggregates else 0)) / store_bytes, 4)
        if store_bytes
        else None,
        "synced_at": manifest.synced_at if manifest else None,
        "seconds_since_sync": round((now_ms - manifest.synced_at) / 1000, 1) if manifest else None,
        "tables": {name: entry.rows for name, entry in manifest.tables.items()} if manifest else {},
    }


def _aggregates_status(manifest: Manifest, timezone: str) -> dict[str, Any]:
    """Whether reports can read the aggregates now, and their files' rows."""
    aggregates = manifest.aggregates
    return {
        "complete": mirror_aggregates.complete(manifest, timezone),
        "events": aggregates.events if aggregates else 0,
        "person_days_rows": sum(e.rows for e in aggregates.person_days) if aggregates else 0,
        "first_touch_rows": sum(e.rows for e in aggregates.first_touch) if aggregates else 0,
        "files": len(aggregates.files()) if aggregates else 0,
    }
