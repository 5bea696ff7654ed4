"""Rewriting event parts: compaction (many small parts into one) and erasure (scrub in place).

Both write the output of :func:`siyu.analytics.engine.resolved_events_sql` — merges resolved to the
surviving profile, an erased person's personal fields NULL — so the files end up holding what a
rebuild from the operational store would write, and the view over them answers the same before
and after. DuckDB does the work out of core (``memory_limit``, spilling to disk), so compacting
millions of rows does not need them in memory.

Callers hold the mirror lock and switch the manifest afterwards; the replaced parts are retired,
not deleted, so a reader that listed them still finds them (see :mod:`siyu.analytics.mirror_files`).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from siyu.analytics.engine import THREADS, resolved_events_sql
from siyu.analytics.mirror_files import ROW_GROUP_ROWS, FileEntry, Manifest, MirrorDirectory

SMALL_PART_ROWS = 500_000  # parts below this size are merged by compaction
COMPACT_AFTER_PARTS = 16  # ... once there are this many of them


def _connect(memory_limit: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:", config={"memory_limit": memory_limit, "threads": THREADS})


def _copy(
    connection: duckdb.DuckDBPyConnection,
    directory: MirrorDirectory,
    manifest: Manifest,
    parts: list[FileEntry],
    written_at: int,
) -> FileEntry:
    temporary = directory.new_temporary("events")
    query = resolved_events_sql(directory, parts, manifest.profile_map, json_properties=False)
    connection.execute(
        f"COPY ({query} ORDER BY id) TO '{temporary}' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
    )
    rows = sum(p.rows for p in parts)
    return directory.publish(
        temporary, rows, min_id=min(p.min_id for p in parts), max_id=max(p.max_id for p in parts), written_at=written_at
    )


def _replace(manifest: Manifest, old: list[FileEntry], new: list[FileEntry], now_ms: int) -> None:
    names = {p.file for p in old}
    manifest.parts = sorted([p for p in manifest.parts if p.file not in names] + new, key=lambda p: p.min_id)
    manifest.retire(sorted(names), now_ms)


def compact(
    directory: MirrorDirectory,
    manifest: Manifest,
    now_ms: int,
    memory_limit: str,
    *,
    after_parts: int = COMPACT_AFTER_PARTS,
) -> bool:
    """Merge the small parts into one when there are ``after_parts`` of them; True if it did."""
    small = [p for p in manifest.parts if p.rows < SMALL_PART_ROWS]
    if len(small) < max(after_parts, 2):
        return False
    with _connect(memory_limit) as connection:
        merged = _copy(connection, directory, manifest, small, now_ms)
    _replace(manifest, small, [merged], now_ms)
    return True


def scrub(
    directory: MirrorDirectory, manifest: Manifest, profile_ids: Iterable[int], now_ms: int, memory_limit: str
) -> int:
    """Rewrite every part holding an event of these (as-written) profile ids; returns how many.

    Run when a sync sees new erasures, so an erased person's data leaves the mirror's files within
    one sync (and leaves the disk for good once the retired parts pass their grace period).
    """
    wanted = sorted(set(profile_ids))
    if not wanted or not manifest.parts:
        return 0
    by_path = {str(directory.file(p.file)): p for p in manifest.parts}
    files = "[" + ", ".join(f"'{path}'" for path in by_path) + "]"
    with _connect(memory_limit) as connection:
        hit = connection.execute(
            f"SELECT DISTINCT filename FROM read_parquet({files}, filename = true) "
            "WHERE profile_id IN (SELECT unnest(?::BIGINT[]))",
            [wanted],
        ).fetchall()
        old = [by_path[row[0]] for row in hit]
        new = [_copy(connection, directory, manifest, [part], now_ms) for part in old]
    _replace(manifest, old, new, now_ms)
    return len(old)
