"""Reading and converting an import file into messages, in chunks, optionally in a second process.

Converting a row (decoding, mapping columns, dates, amounts, the Segment message, phone
normalisation) costs about as much as storing it, so for large files it runs in a child process
on the other core while the parent writes the previous chunk (measured: ~40% of a Tmall import's
CPU). :func:`chunks` hands the writer :class:`~siyu.imports.bulk.Prepared` records: each message
with everything about it that needs no database already done (its event row, the fold's inputs),
so that this work, too, runs on the converter's core. They cross the process boundary as JSON
(plain values: pickling ``Message`` objects cost ~65 µs each way). The queue is bounded, so memory
stays flat in the file's size whichever side is slower. :func:`convert` itself yields the
messages, which is what a per-event comparison (``tests/imports/test_bulk.py``) sends through the
ingest pipeline.

The child stops when the parent goes away (it checks while waiting to hand over a chunk), and an
error in the child (an unreadable file half-way) is re-raised in the parent.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from siyu.identity.models import Identifier
from siyu.identity.normalise import InvalidIdentifier
from siyu.identity.rules import IdentityRules
from siyu.imports.bulk import Prepared, prepare
from siyu.imports.errors import ImportError_
from siyu.imports.presets import Preset
from siyu.imports.readers import read_table
from siyu.imports.rows import Fields, Mapped, RowError, customer_message, map_columns, order_message
from siyu.ingest.errors import IngestError
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.spec import Message, parse_message

CHUNK = 2000  # rows per chunk (and per write transaction on the other side)
PARALLEL_BYTES = 4 << 20  # files larger than this are converted in a child process
QUEUE_CHUNKS = 4


@dataclass
class Pending:
    """A converted row (or order) waiting for its chunk to be written."""

    rows: int
    message: Message
    identifiers: list[Identifier]
    tags: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    pending: list[Pending] = field(default_factory=list)  # from convert(): converted messages
    prepared: list[Prepared] = field(default_factory=list)  # from chunks(): what the writer stores
    failed: list[tuple[list[str], int, str]] = field(default_factory=list)  # row, line number, reason
    rows: int = 0  # rows read, good and bad
    position: int = 0  # bytes read so far


@dataclass(frozen=True)
class Job:
    path: Path
    encoding: str
    preset: Preset
    timezone: str
    settings: dict[str, Any]
    region: str
    received_at: datetime


def grouped(mapped: Mapped, rows: Iterator[list[str]]) -> Iterator[tuple[list[int], list[list[str]]]]:
    """Rows with their file line numbers, grouped into orders: consecutive rows sharing an order id
    (Shopify's and Youzan's line items). The header is line 1."""
    number = 1
    pending: list[list[str]] = []
    numbers: list[int] = []
    position = mapped.index.get("order_id")
    for row in rows:
        number += 1
        if not mapped.preset.line_items or position is None:
            yield [number], [row]
            continue
        key = row[position] if position < len(row) else ""
        if pending and (not key or key != pending[0][position]):
            yield numbers, pending
            pending, numbers = [], []
        pending.append(row)
        numbers.append(number)
    if pending:
        yield numbers, pending


def convert(job: Job) -> Iterator[Chunk]:
    """The file as chunks of messages and failed rows, in file order."""
    table = read_table(job.path, job.encoding)
    mapped = map_columns(job.preset, table.header)
    zone = ZoneInfo(job.timezone)
    rules = IdentityRules.from_settings(job.settings)
    source = f"import:{job.preset.name}"
    orders = job.preset.kind == "orders"
    chunk = Chunk()
    try:
        for piece in _converted(grouped(mapped, table.rows), mapped, zone, rules, source, orders, job):
            if piece is None:
                chunk.position = table.position()
                yield chunk
                chunk = Chunk()
            else:
                _add(chunk, piece)
    except ImportError_:
        chunk.position = table.position()
        yield chunk  # what was read before the file broke is stored; a re-run skips it
        raise
    chunk.position = table.size
    yield chunk


def _add(chunk: Chunk, piece: tuple[int, Pending | None, list[tuple[list[str], int, str]]]) -> None:
    rows, pending, failed = piece
    chunk.rows += rows
    chunk.failed += failed
    if pending is not None:
        chunk.pending.append(pending)


def _converted(groups: Iterator[tuple[list[int], list[list[str]]]], mapped: Mapped, zone: ZoneInfo,
               rules: IdentityRules, source: str, orders: bool, job: Job,
               ) -> Iterator[tuple[int, Pending | None, list[tuple[list[str], int, str]]] | None]:
    """Each row group converted (or its failure), and ``None`` where a chunk is full."""
    count = 0
    for numbers, group in groups:
        try:
            fields: list[Fields] = [mapped.fields(row) for row in group]
            raw = order_message(mapped, fields, zone) if orders else customer_message(mapped, fields[0], zone)
            tags = raw.pop("_tags", [])
            message = parse_message(raw, received_at=job.received_at, source=source)
            message.dedupe_forever = True
            found = identifiers_of(message, rules, job.region)
        except (RowError, IngestError, InvalidIdentifier) as error:
            reason = getattr(error, "message", None) or str(error)
            yield len(group), None, [(row, number, reason) for number, row in zip(numbers, group, strict=True)]
            continue
        yield len(group), Pending(len(group), message, found, tags), []
        count += 1
        if count % CHUNK == 0:
            yield None


@contextmanager
def collected_between_chunks() -> Iterator[None]:
    """Python's cyclic garbage collector off while an import runs; the caller collects the young
    generation after each chunk (:func:`gc.collect` ``(0)``).

    Converted rows are millions of small dicts and lists, and the collector, triggered by
    allocation counts, traversed them again and again while they were alive: measured 44% of the
    writing process's CPU (183 → 103 µs a row, 100k Tmall rows). Rows hold no reference cycles, so
    nothing is lost by waiting, and collecting once per chunk still bounds whatever cycles the
    libraries make. The switch is process-wide: in a server, automatic collection pauses for other
    requests too while an import runs, with a collection at least every chunk (a few seconds).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def chunks(job: Job) -> Iterator[Chunk]:
    """:func:`convert`, in a child process when the file is large enough to be worth it."""
    if job.path.stat().st_size <= PARALLEL_BYTES:
        for chunk in convert(job):
            yield _prepared(chunk)
        return
    context = multiprocessing.get_context("spawn")  # no fork: the parent may be a threaded server
    handover: multiprocessing.Queue[Any] = context.Queue(QUEUE_CHUNKS)
    child = context.Process(target=_child, args=(job, handover, os.getpid()), name="siyu-import-convert",
                            daemon=True)
    child.start()
    try:
        while True:
            try:
                item = handover.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError("the import's conversion process stopped unexpectedly") from None
                continue
            kind, payload = item
            if kind == "chunk":
                yield _unpacked(payload)
            elif kind == "error":
                message, code, status, details = payload
                raise ImportError_(message, code=code, status=status, details=details)
            else:
                return
    finally:
        if child.is_alive():
            child.terminate()
        child.join(timeout=10)


def _child(job: Job, handover: multiprocessing.Queue[Any], parent: int) -> None:
    def put(item: Any) -> None:
        while True:
            try:
                handover.put(item, timeout=1)
                return
            except queue.Full:
                if os.getppid() != parent:
                    raise SystemExit(1) from None

    try:
        with collected_between_chunks():
            for chunk in convert(job):
                put(("chunk", _packed(chunk)))
                gc.collect(0)
    except ImportError_ as error:  # sent as values: the keyword-only fields don't survive pickling
        put(("error", (error.message, error.code, error.status, error.details)))
        return
    except Exception as error:  # noqa: BLE001 - handed to the parent, which re-raises it
        put(("error", (f"{type(error).__name__}: {error}", "imports.failed", 500, {})))
        return
    put(("done", None))


def _packed(chunk: Chunk) -> bytes:
    """The chunk's prepared records as JSON bytes: orjson writes and reads plain values several times
    faster than pickle handles the same messages (measured ~45 µs a row for pickle)."""
    return orjson.dumps([[tuple(p) for p in _prepared(chunk).prepared], chunk.failed, chunk.rows, chunk.position])


def _prepared(chunk: Chunk) -> Chunk:
    """The chunk with each converted message prepared for the set-based writer (:mod:`siyu.imports.bulk`)."""
    return Chunk(prepared=[prepare(p.message, p.identifiers, p.rows, p.tags) for p in chunk.pending],
                 failed=chunk.failed, rows=chunk.rows, position=chunk.position)


def _unpacked(packed: bytes) -> Chunk:
    prepared, failed, rows, position = orjson.loads(packed)
    return Chunk(prepared=[Prepared._make(item) for item in prepared],
                 failed=[(row, number, reason) for row, number, reason in failed], rows=rows, position=position)
