"""The benchmarks' data set from the demo generator: the demo brand's customers, written straight into
the analytics mirror's format (Parquet parts and a manifest), at the issue's scale.

The people and their messages are :func:`siyu.demo.story.tell`'s — the same first touches (Xiaohongshu
posts, Tmall parcel cards, stores, staff links, invitations), follows and unfollows, seasonal orders on
the brand's repurchase cycle — with ``browsing`` extra mini-program visits per person on average, set so
that the data set has the requested number of events (the demo itself has about 6 per person; the
issue's benchmark asks for 20). Messages become event rows as the ingest pipeline and the mirror would
store them (the name, the ``page`` name folded into properties, revenue and channel extracted as the
mirror does), in the order the demo generator sends them: 500 people at a time, in time order.

What is not run is identity resolution: each event goes to the profile of the person whose story it is
(the inviter's ``Invite Sent`` to the inviter), which is what resolution gives on this data — the demo's
tests check that the family phones and the shared store tablet do not merge anyone. Profiles are numbered
by person (id = index + 1).

Generated once per (people, events, seed, generator version) into ``--cache-dir`` and reused: twenty
million events take minutes to tell.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from siyu.analytics.mirror import PART_ROWS
from siyu.analytics.mirror_files import (
    DICTIONARY_COLUMNS,
    EVENT_SCHEMA,
    ROW_GROUP_ROWS,
    Manifest,
    MirrorDirectory,
    parquet_writer,
)
from siyu.profiles.rollups import channel_of, order_amount

PEOPLE_PER_CHUNK = 500  # as siyu.demo.generate: the insertion order of the demo
PEOPLE_PER_TASK = 5_000
SAMPLE = 4_000  # people told twice to calibrate ``browsing``
PEOPLE_SCHEMA = pa.schema([("profile_id", pa.int64()), ("city", pa.string()), ("name", pa.string()),
                           ("identifiers", pa.list_(pa.string()))])
ROW_SCHEMA = pa.schema([("profile_id", pa.int64()), ("type", pa.string()), ("name", pa.string()),
                        ("timestamp", pa.int64()), ("anonymous_id", pa.string()), ("user_id", pa.string()),
                        ("properties", pa.string()), ("revenue", pa.float64()), ("channel", pa.string())])


def version() -> str:
    """Changes whenever the story or this conversion changes, so a stale cache is never reused."""
    digest = hashlib.sha256()
    demo = Path(__file__).resolve().parents[1] / "siyu" / "demo"
    for path in (demo / "story.py", demo / "life.py", demo / "brand.py", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def owner(seed: int, message: dict[str, Any]) -> int:
    """The person whose profile the message resolves to: member ids ``M<seed%100><index>``, devices
    ``anon-<seed>-<index>`` and Tmall buyers ``tmall-<seed>-<index>`` all carry the person's index."""
    user = message.get("userId")
    if user is not None:
        return int(user[3:])
    return int(message["anonymousId"].rsplit("-", 1)[1])


def identifiers(message: dict[str, Any]) -> set[str]:
    """The identifier types a message gives its profile (phone, email, unionid, openids, ids)."""
    found = {"user_id"} if message.get("userId") else set()
    if message.get("anonymousId"):
        found.add("anonymous_id")
    context = message.get("context") or {}
    traits = {**(context.get("traits") or {}), **(message.get("traits") or {})}
    found.update(k for k in ("phone", "email") if traits.get(k))
    if traits.get("wechat_unionid"):
        found.add("wechat_unionid")
    found.update(e["type"].split(":", 1)[0] for e in context.get("externalIds") or [])
    return found


def _tell_chunk(task: tuple[int, int, int, str, float]) -> tuple[bytes, bytes]:
    """Rows of people ``first`` to ``last`` (exclusive), in insertion order, and the people's traits."""
    from siyu.demo.story import tell

    seed, first, last, now_text, browsing = task
    now = datetime.fromisoformat(now_text)
    columns: dict[str, list[Any]] = {name: [] for name in ROW_SCHEMA.names}
    people: dict[int, dict[str, Any]] = {}
    for start in range(first, last, PEOPLE_PER_CHUNK):
        messages = [m for index in range(start, min(start + PEOPLE_PER_CHUNK, last))
                    for m in tell(seed, index, now, browsing).messages]
        messages.sort(key=lambda m: m["timestamp"])
        for message in messages:
            person = owner(seed, message)
            seen = people.setdefault(person, {"city": None, "name": None, "identifiers": set()})
            seen["identifiers"] |= identifiers(message)
            traits = message.get("traits") or {}
            seen["city"] = traits.get("city") or seen["city"]
            seen["name"] = traits.get("name") or seen["name"]
            kind = message["type"]
            properties = dict(message.get("properties") or {})
            if kind in ("page", "screen") and "name" in message:
                properties["name"] = message["name"]
            revenue = order_amount(properties) if "total" in properties or "revenue" in properties else None
            columns["profile_id"].append(person + 1)
            columns["type"].append(kind)
            columns["name"].append(message["event"] if kind == "track" else kind)
            columns["timestamp"].append(int(datetime.fromisoformat(message["timestamp"]).timestamp() * 1000))
            columns["anonymous_id"].append(message.get("anonymousId"))
            columns["user_id"].append(message.get("userId"))
            columns["properties"].append(orjson.dumps(properties).decode())
            columns["revenue"].append(revenue)
            columns["channel"].append(channel_of(properties, message.get("context") or {}, traits))
    rows = pa.Table.from_pydict(columns, schema=ROW_SCHEMA)
    folks = pa.Table.from_pydict(
        {"profile_id": [p + 1 for p in people], "city": [v["city"] for v in people.values()],
         "name": [v["name"] for v in people.values()],
         "identifiers": [sorted(v["identifiers"]) for v in people.values()]}, schema=PEOPLE_SCHEMA)
    return _ipc(rows), _ipc(folks)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def calibrate(seed: int, people: int, events: int, now: datetime) -> float:
    """The ``browsing`` that gives ``events`` events for ``people`` people, from a sample told twice
    (events grow linearly with it: each visit adds its events unless it would fall after ``now``)."""
    from siyu.demo.story import tell

    rnd = random.Random(seed)
    sample = [rnd.randrange(people) for _ in range(min(SAMPLE, people))]
    base = sum(len(tell(seed, i, now).messages) for i in sample) / len(sample)
    per_visit = (sum(len(tell(seed, i, now, 10.0).messages) for i in sample) / len(sample) - base) / 10.0
    return max(0.0, (events / people - base) / per_visit)


class _Parts:
    """Accumulates rows in id order and writes a part of PART_ROWS rows at a time, each sorted by
    (name, timestamp, id) as the mirror writes parts."""

    def __init__(self, directory: MirrorDirectory, manifest: Manifest, workspace_id: int) -> None:
        self.directory, self.manifest, self.workspace_id = directory, manifest, workspace_id
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.next_id = 1

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        while self.rows >= PART_ROWS:
            self._write(PART_ROWS)

    def finish(self) -> None:
        if self.rows:
            self._write(self.rows)
        self.manifest.watermark = self.next_id - 1

    def _write(self, count: int) -> None:
        table = pa.concat_tables(self.pending)
        rest = table.slice(count)
        self.pending, self.rows = ([rest] if rest.num_rows else []), rest.num_rows
        part = pa.RecordBatch.from_arrays([pa.concat_arrays(c.chunks) for c in table.slice(0, count).columns],
                                          schema=ROW_SCHEMA)
        ids = np.arange(self.next_id, self.next_id + count, dtype=np.int64)
        names = part.column("name").to_numpy(zero_copy_only=False)
        timestamps = part.column("timestamp").to_numpy()
        order = np.lexsort((ids, timestamps, np.unique(names, return_inverse=True)[1]))
        batch = pa.RecordBatch.from_pydict(
            {
                "id": ids[order],
                "workspace_id": np.full(count, self.workspace_id, dtype=np.int32),
                "profile_id": part.column("profile_id").to_numpy()[order],
                "type": part.column("type").take(order),
                "name": part.column("name").take(order),
                "timestamp": timestamps[order],
                "received_at": timestamps[order],
                "source": pa.array(["demo"] * count, pa.string()),
                "anonymous_id": part.column("anonymous_id").take(order),
                "user_id": part.column("user_id").take(order),
                "properties": part.column("properties").take(order),
                "revenue": part.column("revenue").take(order),
                "channel": part.column("channel").take(order),
            },
            schema=EVENT_SCHEMA,
        )
        temporary = self.directory.new_temporary("events")
        writer = parquet_writer(temporary, EVENT_SCHEMA, DICTIONARY_COLUMNS)
        writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
        writer.close()
        self.manifest.parts.append(
            self.directory.publish(temporary, count, min_id=self.next_id, max_id=self.next_id + count - 1))
        self.next_id += count


def people_file(directory: MirrorDirectory) -> Path:
    return directory.path.parent / "demo-people.parquet"


def generate(directory: MirrorDirectory, workspace_id: int, *, people: int, events: int, seed: int,
             now: datetime, processes: int = 2) -> tuple[Manifest, float]:
    """Tell ``people`` stories into the mirror; returns the manifest and the ``browsing`` used."""
    import pyarrow.parquet as pq

    browsing = calibrate(seed, people, events, now)
    manifest = Manifest(workspace_id)
    parts = _Parts(directory, manifest, workspace_id)
    tasks = [(seed, first, min(first + PEOPLE_PER_TASK, people), now.isoformat(), browsing)
             for first in range(0, people, PEOPLE_PER_TASK)]
    folks = pq.ParquetWriter(people_file(directory), PEOPLE_SCHEMA)
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for rows, traits in pool.imap(_tell_chunk, tasks):
            parts.add(_table(rows))
            folks.write_table(_table(traits))
    folks.close()
    parts.finish()
    manifest.generation = 1
    directory.write_manifest(manifest)
    return manifest, browsing


def cached(cache_dir: Path, *, people: int, events: int, seed: int, now: datetime) -> Path:
    """The directory that holds (or will hold) this data set; one per generator version."""
    key = f"demo-{people}-{events}-{seed}-{now:%Y%m%d}-{version()}"
    return cache_dir.expanduser() / key


def is_complete(root: Path) -> bool:
    return (root / "complete.json").exists()


def mark_complete(root: Path, **facts: Any) -> None:
    (root / "complete.json").write_text(json.dumps(facts, ensure_ascii=False, indent=1))


def prepare(cache_dir: Path, workspace_id: int, *, people: int, events: int, seed: int,
            now: datetime) -> tuple[Path, MirrorDirectory, Manifest, str]:
    """The cached data set's root, directory and manifest, generated first if need be; and a line
    saying what it is. Callers add what they need (aggregates, snapshots) to the manifest and keep it."""
    import time

    root = cached(cache_dir, people=people, events=events, seed=seed, now=now)
    directory = MirrorDirectory(root, workspace_id)
    if not is_complete(root):
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        started = time.perf_counter()
        manifest, browsing = generate(directory, workspace_id, people=people, events=events, seed=seed, now=now)
        mark_complete(root, people=people, events=sum(p.rows for p in manifest.parts), browsing=browsing,
                      seconds=round(time.perf_counter() - started, 1))
    manifest = directory.read_manifest()
    assert manifest is not None
    facts = json.loads((root / "complete.json").read_text())
    size = sum(p.bytes for p in manifest.parts)
    line = (f"demo generator: {facts['events']:,} events of {people:,} people (seed {seed}, {facts['browsing']:.2f} "
            f"extra visits per person), {len(manifest.parts)} parts, {size / 1e6:,.0f} MB of Parquet; told in "
            f"{facts['seconds']:.0f} s, cached in {root}")
    return root, directory, manifest, line
