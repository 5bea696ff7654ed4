"""The mirror on disk: one directory per workspace, a manifest, Parquet files, a lock.

Layout under ``SIYU_ANALYTICS_DIR`` (default ``<data dir>/analytics``)::

    workspace-<id>/
      manifest.json     the only truth: live event parts, snapshots, watermark, pending gaps
      .lock             flock'ed by the one process syncing this workspace
      files/            immutable Parquet files (event parts, aggregates, profile map, table snapshots)
      tmp/              files being written; anything here when a sync starts is a crash's leftover

Concurrency argument. Writers: every change happens inside :func:`mirror_lock`, an exclusive
``flock`` on ``.lock``, so one sync, compaction or rebuild runs per workspace across all
processes on the machine (and across nodes on a file system that honours flock; NFSv4 maps it
to byte-range locks). Readers never lock: a Parquet file is written under ``tmp/``, fsync'ed and
renamed into ``files/`` before the manifest names it, and the manifest itself is replaced with an
atomic ``os.replace``. A reader therefore sees either the old list of files or the new one, never
a half-written file and never both the small parts and the part they were compacted into. Files
dropped from the manifest are kept for :data:`RETIRE_GRACE` so that a reader which read the old
manifest can finish its query; the next sync after that deletes them. A crash leaves at worst a
file in ``tmp/`` or an unlisted file in ``files/``; the next sync, holding the lock, deletes both.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Boolean, Float, Integer, Table

from siyu.analytics.mirror_errors import MirrorBusy, MirrorCorrupt
from siyu.analytics.mirror_store import EventRow
from siyu.profiles.rollups import channel_of, order_amount

MANIFEST_VERSION = 1
RETIRE_GRACE = timedelta(minutes=10)
ROW_GROUP_ROWS = 128 * 1024

# Event columns as the operational table names them; message_id, sent_at, traits and context are
# not mirrored (reports do not use them, and a random message id is the least compressible column).
# revenue and channel are extracted once here so reports never parse JSON.
EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("workspace_id", pa.int32()),
        ("profile_id", pa.int64()),
        ("type", pa.string()),
        ("name", pa.string()),
        ("timestamp", pa.int64()),
        ("received_at", pa.int64()),
        ("source", pa.string()),
        ("anonymous_id", pa.string()),
        ("user_id", pa.string()),
        ("properties", pa.string()),
        ("revenue", pa.float64()),
        ("channel", pa.string()),
    ]
)
DICTIONARY_COLUMNS = ["workspace_id", "type", "name", "source", "channel"]
PROFILE_MAP_SCHEMA = pa.schema([("profile_id", pa.int64()), ("canonical_id", pa.int64()), ("erased", pa.bool_())])


@dataclass
class FileEntry:
    file: str  # name inside files/
    rows: int
    bytes: int
    min_id: int = 0  # event parts only
    max_id: int = 0
    written_at: int = 0  # epoch ms


@dataclass
class Aggregates:
    """The pre-aggregated tables (see :mod:`siyu.analytics.mirror_aggregates`) and what they were built for."""

    basis: str  # time zone, system events, format: built for exactly this
    events: int = 0  # event rows the files summarise: equal to the parts' rows when complete
    days_run_forward: bool = True  # False if the zone turned a clock back across midnight near an event
    person_days: list[FileEntry] = field(default_factory=list)
    first_touch: list[FileEntry] = field(default_factory=list)

    def files(self) -> set[str]:
        return {e.file for e in self.person_days} | {e.file for e in self.first_touch}

    def bytes(self) -> int:
        return sum(e.bytes for e in self.person_days) + sum(e.bytes for e in self.first_touch)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Aggregates:
        return cls(
            basis=data["basis"],
            events=data.get("events", 0),
            days_run_forward=data.get("days_run_forward", True),
            person_days=[FileEntry(**e) for e in data.get("person_days", [])],
            first_touch=[FileEntry(**e) for e in data.get("first_touch", [])],
        )


@dataclass
class Manifest:
    workspace_id: int
    watermark: int = 0  # every event id <= watermark is mirrored, in another workspace, or a pending gap
    parts: list[FileEntry] = field(default_factory=list)
    gaps: list[list[int]] = field(default_factory=list)  # [low, high, first_seen_ms]: ids not yet committed
    profile_map: FileEntry | None = None
    identity_marks: list[int] = field(default_factory=lambda: [0, 0])  # last merge id, last erasure id
    tables: dict[str, FileEntry] = field(default_factory=dict)
    retired: list[list[Any]] = field(default_factory=list)  # [file, retired_at_ms]
    generation: int = 0
    synced_at: int = 0
    version: int = MANIFEST_VERSION
    aggregates: Aggregates | None = None  # absent in manifests written before they existed: built on next sync

    def live_files(self) -> set[str]:
        named = {p.file for p in self.parts} | {t.file for t in self.tables.values()}
        if self.profile_map:
            named.add(self.profile_map.file)
        if self.aggregates:
            named |= self.aggregates.files()
        return named

    def event_rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def retire(self, files: Sequence[str], at_ms: int) -> None:
        self.retired.extend([f, at_ms] for f in files)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        data = dict(data)
        data["parts"] = [FileEntry(**p) for p in data.get("parts", [])]
        data["tables"] = {k: FileEntry(**v) for k, v in data.get("tables", {}).items()}
        data["profile_map"] = FileEntry(**data["profile_map"]) if data.get("profile_map") else None
        data["aggregates"] = Aggregates.from_json(data["aggregates"]) if data.get("aggregates") else None
        return cls(**data)


class MirrorDirectory:
    """Paths of one workspace's mirror, and the few file operations that keep it consistent."""

    def __init__(self, root: Path, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.path = root / f"workspace-{workspace_id}"
        self.files = self.path / "files"
        self.tmp = self.path / "tmp"
        self.manifest_path = self.path / "manifest.json"

    def file(self, name: str) -> Path:
        return self.files / name

    def read_manifest(self) -> Manifest | None:
        try:
            data = orjson.loads(self.manifest_path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError) as error:
            raise MirrorCorrupt(
                f"The analytics manifest {self.manifest_path} is unreadable ({error}); run `siyu analytics rebuild`."
            ) from None
        manifest = Manifest.from_json(data)
        if manifest.workspace_id != self.workspace_id:
            raise MirrorCorrupt(
                f"{self.manifest_path} belongs to workspace {manifest.workspace_id}; run `siyu analytics rebuild`."
            )
        return manifest

    def write_manifest(self, manifest: Manifest, *, durable: bool = True) -> None:
        """Replace the manifest atomically: readers see the old one or the new one, never a mix.

        ``durable=False`` skips the fsyncs, for a sync that changed nothing but ``synced_at``: a
        power loss may then forget the timestamp, never a file list.
        """
        self.tmp.mkdir(parents=True, exist_ok=True)
        temporary = self.tmp / f"manifest-{uuid.uuid4().hex}.json"
        with open(temporary, "wb") as handle:
            handle.write(json.dumps(asdict(manifest), indent=1).encode())
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, self.manifest_path)
        if durable:
            _fsync_directory(self.path)

    def new_temporary(self, kind: str) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{kind}-{uuid.uuid4().hex}.parquet"

    def publish(
        self, temporary: Path, rows: int, *, min_id: int = 0, max_id: int = 0, written_at: int = 0
    ) -> FileEntry:
        """Move a finished file into files/ (still invisible to readers until a manifest names it)."""
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        target = self.files / temporary.name
        os.replace(temporary, target)
        return FileEntry(
            file=target.name,
            rows=rows,
            bytes=target.stat().st_size,
            min_id=min_id,
            max_id=max_id,
            written_at=written_at,
        )

    def remove_leftovers(self, manifest: Manifest | None, now_ms: int) -> Manifest | None:
        """Delete crash leftovers and retired files past their grace; call only under the lock."""
        for leftover in self.tmp.glob("*") if self.tmp.exists() else []:
            leftover.unlink(missing_ok=True)
        keep = manifest.live_files() if manifest else set()
        grace_ms = int(RETIRE_GRACE.total_seconds() * 1000)
        if manifest:
            manifest.retired = [r for r in manifest.retired if now_ms - r[1] < grace_ms]
            keep |= {r[0] for r in manifest.retired}
        for path in self.files.glob("*") if self.files.exists() else []:
            if path.name not in keep:
                path.unlink(missing_ok=True)
        return manifest

    def size_bytes(self, manifest: Manifest) -> int:
        return (
            sum(p.bytes for p in manifest.parts)
            + sum(t.bytes for t in manifest.tables.values())
            + (manifest.profile_map.bytes if manifest.profile_map else 0)
            + (manifest.aggregates.bytes() if manifest.aggregates else 0)
        )


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def mirror_lock(directory: MirrorDirectory, wait_seconds: float) -> Iterator[None]:
    """Hold the workspace mirror's exclusive lock, waiting up to ``wait_seconds`` (0: do not wait).

    The lock is an ``flock`` on an open file description, so it is released by the kernel when the
    process dies (kill -9 included): a crashed syncer never leaves the mirror locked.
    """
    directory.path.mkdir(parents=True, exist_ok=True)
    handle = open(directory.path / ".lock", "a+b")  # noqa: SIM115 - closed in finally, after unlocking
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise MirrorBusy(
                        f"Another process is syncing the analytics mirror of workspace "
                        f"{directory.workspace_id}; try again shortly."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _revenue(properties: dict[str, Any]) -> float | None:
    """The order amount as rollups count it (``total``, else ``revenue``); None when neither is given."""
    if "total" not in properties and "revenue" not in properties:
        return None
    return order_amount(properties)


def _json_object(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def event_batch(rows: Sequence[EventRow]) -> pa.RecordBatch:
    """Rows as an Arrow batch: the stored columns as they are, plus ``revenue`` and ``channel``
    derived as rollups derive them. A JSON column is parsed only when the key those need could be in
    it (stored JSON is written by orjson or PostgreSQL, neither of which escapes ASCII in keys, so a
    key's name not in the text means the key is absent): most events carry neither."""
    (ids, workspace_ids, profile_ids, types, names, timestamps, received, sources, anonymous_ids, user_ids,
     properties, traits, contexts) = zip(*rows, strict=True) if rows else ((),) * 13
    revenue: list[float | None] = []
    channel: list[str | None] = []
    for props, trait_text, context in zip(properties, traits, contexts, strict=True):
        wanted = props is not None and ('"total"' in props or '"revenue"' in props or '"channel"' in props)
        parsed = _json_object(props) if wanted else {}
        revenue.append(_revenue(parsed))
        channel.append(channel_of(parsed,
                                  _json_object(context) if context and '"campaign"' in context else {},
                                  _json_object(trait_text) if trait_text and '"channel"' in trait_text else {}))
    columns = {"id": ids, "workspace_id": workspace_ids, "profile_id": profile_ids, "type": types, "name": names,
               "source": sources, "anonymous_id": anonymous_ids, "user_id": user_ids, "properties": properties,
               "timestamp": timestamps, "received_at": received, "revenue": revenue, "channel": channel}
    return pa.RecordBatch.from_pydict({name: list(columns[name]) for name in EVENT_SCHEMA.names}, schema=EVENT_SCHEMA)


def parquet_writer(path: Path, schema: pa.Schema, dictionary: list[str] | bool = True) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path, schema, compression="zstd", compression_level=6, use_dictionary=dictionary, write_statistics=True
    )


def write_event_part(
    directory: MirrorDirectory, batches: Iterator[Sequence[EventRow]], written_at: int
) -> FileEntry | None:
    """Write event rows (already in id order) into one new part; None when there were none."""
    temporary = directory.new_temporary("events")
    writer: pq.ParquetWriter | None = None
    rows, low, high = 0, 0, 0
    try:
        for chunk in batches:
            if not chunk:
                continue
            if writer is None:
                writer = parquet_writer(temporary, EVENT_SCHEMA, DICTIONARY_COLUMNS)
                low = chunk[0].id
            writer.write_batch(event_batch(chunk), row_group_size=ROW_GROUP_ROWS)
            rows += len(chunk)
            high = chunk[-1].id
        if writer is None:
            return None
        writer.close()
        writer = None
        return directory.publish(temporary, rows, min_id=low, max_id=high, written_at=written_at)
    finally:
        if writer is not None:
            writer.close()
        temporary.unlink(missing_ok=True)


def arrow_type(column: Any) -> pa.DataType:
    """Parquet type of an operational column: Timestamps stay epoch-millisecond integers."""
    sql_type = column.type
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, Float):
        return pa.float64()
    affinity = sql_type._type_affinity
    if affinity is not None and issubclass(affinity, Integer):
        return pa.int64()
    if getattr(sql_type, "impl", None) is not None and isinstance(sql_type.impl, Integer):
        return pa.int64()  # Timestamp
    return pa.string()


def write_table_snapshot(
    directory: MirrorDirectory, table: Table, names: list[str], chunks: Iterator[list[tuple[Any, ...]]], written_at: int
) -> FileEntry:
    schema = pa.schema([(name, arrow_type(table.c[name])) for name in names])
    temporary = directory.new_temporary(table.name)
    rows = 0
    try:
        with parquet_writer(temporary, schema) as writer:
            for chunk in chunks:
                writer.write_batch(
                    pa.RecordBatch.from_pylist([dict(zip(names, row, strict=True)) for row in chunk], schema=schema),
                    row_group_size=ROW_GROUP_ROWS,
                )
                rows += len(chunk)
        return directory.publish(temporary, rows, written_at=written_at)
    finally:
        temporary.unlink(missing_ok=True)


def write_profile_map(directory: MirrorDirectory, mapping: dict[int, tuple[int, bool]], written_at: int) -> FileEntry:
    temporary = directory.new_temporary("profile-map")
    try:
        ids = sorted(mapping)
        table = pa.table(
            {"profile_id": ids, "canonical_id": [mapping[i][0] for i in ids], "erased": [mapping[i][1] for i in ids]},
            schema=PROFILE_MAP_SCHEMA,
        )
        pq.write_table(table, temporary, compression="zstd")
        return directory.publish(temporary, len(ids), written_at=written_at)
    finally:
        temporary.unlink(missing_ok=True)


def read_profile_map(directory: MirrorDirectory, entry: FileEntry | None) -> dict[int, tuple[int, bool]]:
    if entry is None:
        return {}
    table = pq.read_table(directory.file(entry.file))
    return {
        p: (c, e)
        for p, c, e in zip(
            table.column("profile_id").to_pylist(),
            table.column("canonical_id").to_pylist(),
            table.column("erased").to_pylist(),
            strict=True,
        )
    }
