"""The mirror's pre-aggregated tables: what day-level reports read instead of every event.

* ``person_days``: one row per (profile, local day, event name) with ``events``, how many. Retention,
  DAU / WAU / MAU, 30-day returns and repurchase ask "did this person do X on that day", which
  this answers in a few rows per person-day — for any event by name, and for "any event of their
  own" by leaving out :data:`~siyu.analytics.reports.system_events.SYSTEM_EVENTS` when read.
* ``first_touch``: one row per profile: the instant of the person's first event of their own
  (``first_ms``) and the channel of the earliest such event that carried one, with that event's
  ``(timestamp, id)`` (``channel_ms``, ``channel_id``). Cohorts and channel breakdowns need every
  person's first event over all history: a scan of the whole log, or of these rows.

**Exactly the raw answers.** Both are folds whose partial results merge: counts add, ``first_ms``
takes the minimum, the first channel the smallest ``(timestamp, id)`` — the order the raw query's
``arg_min(channel, [timestamp, id])`` uses. Files may therefore overlap freely (an event that
arrives late lands in a new file as a row for a day an older file also holds), and every reader
groups again. Local days are computed once per event in the workspace's time zone, exactly
(:func:`siyu.analytics.reports.calendar.offset_blocks`); a report's range starts and ends at
local midnights, so "timestamp in the range" and "day in the range" select the same events.

**Merges and erasures.** Rows keep the profile id their events had when they were summarised;
the engine's views resolve it through the profile map as the ``events`` view does (survivor of a
merge; an erased person's channel NULL), so a merge recorded later needs no rewrite. Erasure keeps
an event's name and time, so ``person_days`` holds nothing it removes; ``first_touch`` holds a
channel, so a sync that records a new erasure rewrites the files holding that person (:func:`scrub`)
in the same manifest switch as the event parts.

**Coverage.** The aggregates summarise exactly the manifest's event parts: a sync that appends
parts summarises those parts into new files in the same manifest switch, and compacting or
scrubbing parts changes no event's name, time, channel-after-erasure or profile as resolved. The
manifest records how many events they cover, and :func:`complete` — which the reports check —
requires it to equal the parts' rows and the basis to match.

**Basis.** Local days belong to one time zone and "their own" leaves out one set of names: the
manifest records both (with a format version) as :func:`basis`. A sync that finds another basis —
the workspace's time zone changed, an upgrade changed the system events, a mirror written before
aggregates existed — summarises all parts again (:func:`build_all`); meanwhile reports read raw
events, with the same answers, slower.

**Compaction.** Each sync adds one small file per table; files are merged by size tier (the
number of decimal digits of their row count) once a tier holds :data:`MERGE_FANOUT` of them, so a
row is rewritten about once per tier and a mirror has at most ``MERGE_FANOUT - 1`` files per tier.
Merging groups again (one row per key) and resolves profiles through the current map; the output
is sorted — person_days by event name, then day, then person — so that Parquet's row-group
statistics let a report over a few weeks, or over one event, read only those row groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from siyu.analytics.mirror_files import Aggregates, FileEntry, Manifest, MirrorDirectory
from siyu.analytics.mirror_rewrite import copy_to_parquet, rewrite_connection
from siyu.analytics.mirror_views import (
    FIRST_TOUCH_COLUMNS,
    PERSON_DAYS_COLUMNS,
    files_sql,
    first_touch_sql,
    person_days_sql,
    resolved_events_sql,
)
from siyu.analytics.reports.calendar import BLOCK_MS, DAY_MS, days_run_forward, floor_div_sql, offset_blocks
from siyu.analytics.reports.system_events import SYSTEM_EVENTS, activity_sql

FORMAT = 1
MERGE_FANOUT = 8
PERSON_DAYS, FIRST_TOUCH = "person_days", "first_touch"
# (timestamp, id) as one number that sorts like the pair: ids are positive and below 2^63.
_ORDER_KEY = "(CAST({ms} AS HUGEINT) * 9223372036854775808 + {id})"


def basis(timezone: str) -> str:
    """What the aggregates depend on besides the events: rebuilt whenever this changes."""
    return f"format={FORMAT};timezone={timezone};system_events={','.join(sorted(SYSTEM_EVENTS))}"


def complete(manifest: Manifest, timezone: str) -> bool:
    """The aggregates summarise every event of the manifest's parts, cut in ``timezone``, with days that run forward."""
    aggregates = manifest.aggregates
    return (
        aggregates is not None
        and aggregates.basis == basis(timezone)
        and aggregates.events == manifest.event_rows()
        and aggregates.days_run_forward
    )


def order_key(ms: str, event_id: str) -> str:
    return _ORDER_KEY.format(ms=ms, id=event_id)


def _summaries_sql(source: str) -> dict[str, str]:
    """The SELECTs that summarise resolved event rows (from ``source``) into each table, sorted as written."""
    day = floor_div_sql(
        "e.timestamp + CASE WHEN e.timestamp < b.switch_ms THEN b.before_ms ELSE b.after_ms END", DAY_MS
    )
    key = order_key("timestamp", "id")
    return {
        PERSON_DAYS: f"""
            SELECT e.profile_id, CAST({day} AS INTEGER) AS day, e.name, CAST(count(*) AS INTEGER) AS events
            FROM ({source}) e JOIN offset_blocks b ON b.block = {floor_div_sql("e.timestamp", BLOCK_MS)}
            WHERE e.profile_id IS NOT NULL
            GROUP BY ALL ORDER BY e.name, day, e.profile_id""",
        FIRST_TOUCH: f"""
            SELECT profile_id, min(timestamp) AS first_ms,
                   arg_min(channel, {key}) FILTER (WHERE channel IS NOT NULL) AS channel,
                   arg_min(timestamp, {key}) FILTER (WHERE channel IS NOT NULL) AS channel_ms,
                   arg_min(id, {key}) FILTER (WHERE channel IS NOT NULL) AS channel_id
            FROM ({source}) e
            WHERE profile_id IS NOT NULL AND {activity_sql()}
            GROUP BY profile_id ORDER BY profile_id""",
    }


def _merge_sql(table: str, resolved: str) -> str:
    """Group already-summarised rows again: one row per key."""
    if table == PERSON_DAYS:
        return f"""
            SELECT profile_id, day, name, CAST(sum(events) AS INTEGER) AS events FROM ({resolved})
            GROUP BY ALL ORDER BY name, day, profile_id"""
    key = order_key("channel_ms", "channel_id")
    return f"""
        SELECT profile_id, min(first_ms) AS first_ms,
               arg_min(channel, {key}) FILTER (WHERE channel IS NOT NULL) AS channel,
               arg_min(channel_ms, {key}) FILTER (WHERE channel IS NOT NULL) AS channel_ms,
               arg_min(channel_id, {key}) FILTER (WHERE channel IS NOT NULL) AS channel_id
        FROM ({resolved}) GROUP BY profile_id ORDER BY profile_id"""


def _register_offsets(connection: duckdb.DuckDBPyConnection, files: str, zone: ZoneInfo) -> bool:
    """The zone's offset for every 12-hour block the events fall in, as the table ``offset_blocks``.

    Returns whether local days run forward around those blocks (see ``complete``).
    """
    blocks = [
        row[0]
        for row in connection.execute(f"SELECT DISTINCT {floor_div_sql('timestamp', BLOCK_MS)} FROM {files}").fetchall()
    ]
    rows = offset_blocks(zone, blocks)
    table = pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(("block", "switch_ms", "before_ms", "after_ms"))},
        schema=pa.schema([(n, pa.int64()) for n in ("block", "switch_ms", "before_ms", "after_ms")]),
    )
    connection.register("offset_blocks", table)
    return days_run_forward(zone, blocks)


def _write(
    connection: duckdb.DuckDBPyConnection, directory: MirrorDirectory, table: str, query: str, now_ms: int
) -> FileEntry | None:
    temporary = directory.new_temporary(table.replace("_", "-"))
    try:
        rows = copy_to_parquet(connection, query, str(temporary))
        return directory.publish(temporary, rows, written_at=now_ms) if rows else None
    finally:
        temporary.unlink(missing_ok=True)


def _entries(aggregates: Aggregates, table: str) -> list[FileEntry]:
    return aggregates.person_days if table == PERSON_DAYS else aggregates.first_touch


def add_parts(
    directory: MirrorDirectory,
    manifest: Manifest,
    parts: list[FileEntry],
    zone: ZoneInfo,
    now_ms: int,
    memory_limit: str,
) -> None:
    """Summarise event parts into one new file per table of the manifest's aggregates (resolved through the map)."""
    aggregates = manifest.aggregates
    assert aggregates is not None
    if not parts:
        return
    source = resolved_events_sql(directory, parts, manifest.profile_map, json_properties=False)
    with rewrite_connection(directory, memory_limit) as connection:
        forward = _register_offsets(connection, files_sql(directory, parts), zone)
        for table, query in _summaries_sql(source).items():
            entry = _write(connection, directory, table, query, now_ms)
            if entry is not None:
                _entries(aggregates, table).append(entry)
    aggregates.events += sum(p.rows for p in parts)
    aggregates.days_run_forward = aggregates.days_run_forward and forward


def follow(
    directory: MirrorDirectory,
    manifest: Manifest,
    new_parts: list[FileEntry],
    zone: ZoneInfo,
    now_ms: int,
    memory_limit: str,
) -> bool:
    """Bring the aggregates up to the parts just appended: summarise those, or everything if the basis moved.

    Returns True when any file changed.
    """
    aggregates = manifest.aggregates
    new_rows = sum(p.rows for p in new_parts)
    if (
        aggregates is not None
        and aggregates.basis == basis(zone.key)
        and aggregates.events + new_rows == manifest.event_rows()
    ):
        if not new_parts:
            return False
        add_parts(directory, manifest, new_parts, zone, now_ms, memory_limit)
        return True
    build_all(directory, manifest, zone, now_ms, memory_limit)
    return True


def build_all(directory: MirrorDirectory, manifest: Manifest, zone: ZoneInfo, now_ms: int, memory_limit: str) -> None:
    """Summarise every part afresh for the zone (replacing, and retiring, whatever aggregates there were)."""
    if manifest.aggregates is not None:
        manifest.retire(sorted(manifest.aggregates.files()), now_ms)
    manifest.aggregates = Aggregates(basis(zone.key))
    add_parts(directory, manifest, manifest.parts, zone, now_ms, memory_limit)


def _resolved_sql(directory: MirrorDirectory, manifest: Manifest, table: str, entries: list[FileEntry]) -> str:
    view = person_days_sql if table == PERSON_DAYS else first_touch_sql
    columns = ", ".join(name for name, _ in (PERSON_DAYS_COLUMNS if table == PERSON_DAYS else FIRST_TOUCH_COLUMNS))
    return f"SELECT {columns} FROM ({view(directory, entries, manifest.profile_map, manifest.workspace_id)})"


def _merge(
    directory: MirrorDirectory, manifest: Manifest, table: str, old: list[FileEntry], now_ms: int, memory_limit: str
) -> None:
    """Replace ``old`` files of a table with one, grouped again and resolved through the current map."""
    assert manifest.aggregates is not None
    with rewrite_connection(directory, memory_limit) as connection:
        entry = _write(
            connection, directory, table, _merge_sql(table, _resolved_sql(directory, manifest, table, old)), now_ms
        )
    names = {e.file for e in old}
    kept = [e for e in _entries(manifest.aggregates, table) if e.file not in names]
    _entries(manifest.aggregates, table)[:] = kept + ([entry] if entry is not None else [])
    manifest.retire(sorted(names), now_ms)


def _tier(rows: int) -> int:
    return len(str(max(rows, 1)))


def compact(
    directory: MirrorDirectory, manifest: Manifest, now_ms: int, memory_limit: str, *, fanout: int | None = None
) -> bool:
    """Merge the files of the smallest full tier of each table, until no tier is full; True if any merged."""
    if manifest.aggregates is None:
        return False
    fanout = fanout or MERGE_FANOUT
    merged = False
    for table in (PERSON_DAYS, FIRST_TOUCH):
        while True:
            tiers: dict[int, list[FileEntry]] = {}
            for entry in _entries(manifest.aggregates, table):
                tiers.setdefault(_tier(entry.rows), []).append(entry)
            full = [files for _, files in sorted(tiers.items()) if len(files) >= max(fanout, 2)]
            if not full:
                break
            _merge(directory, manifest, table, full[0], now_ms, memory_limit)
            merged = True
    return merged


def scrub(
    directory: MirrorDirectory, manifest: Manifest, profile_ids: Iterable[int], now_ms: int, memory_limit: str
) -> int:
    """Rewrite every first_touch file holding one of these (as-written) profiles; returns how many.

    The profile map must already mark them erased: the rewrite reads them through it, so their
    channel leaves the files. person_days holds only names, days and counts, which erasure keeps.
    """
    wanted = sorted(set(profile_ids))
    aggregates = manifest.aggregates
    if not wanted or aggregates is None or not aggregates.first_touch:
        return 0
    by_path = {str(directory.file(e.file)): e for e in aggregates.first_touch}
    with rewrite_connection(directory, memory_limit) as connection:
        hit = connection.execute(
            f"SELECT DISTINCT filename FROM {files_sql(directory, aggregates.first_touch, filename=True)} "
            "WHERE profile_id IN (SELECT unnest(?::BIGINT[])) AND channel IS NOT NULL",
            [wanted],
        ).fetchall()
    for (path,) in hit:
        _merge(directory, manifest, FIRST_TOUCH, [by_path[path]], now_ms, memory_limit)
    return len(hit)
