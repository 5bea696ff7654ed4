"""Group commit: one writer per process turns many concurrent ingest requests into one transaction.

Request handlers validate and parse, then hand their batch to the writer and wait. The writer
drains everything queued, runs the pipeline once per workspace inside ONE write transaction,
commits, and only then wakes the requests, which answer 200. With deferred resolution (the
default for ``siyu serve``, :mod:`siyu.ingest.queue`) "the pipeline" is its first half only: the
messageIds are claimed and the messages appended to the queue that the worker resolves. So an
acknowledged event is always on disk (never lost), the commit cost is shared by every request in the group, and SQLite's
single-writer rule is respected by construction.

If a group's transaction fails, each request's batch is retried alone, so one bad batch cannot
fail the others; the failing one gets the error (503 ``ingest.unavailable`` when the database
itself failed, so that SDKs back off and retry).

Between groups, and while idle, the writer prunes expired dedupe keys in bounded steps, one
workspace at a time, so that housekeeping never holds the write lock for long.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.group_commit import gather
from siyu.identity.models import Identifier
from siyu.identity.rules import IdentityRules
from siyu.ingest import queue as ingest_queue
from siyu.ingest import store as ingest_store
from siyu.ingest.errors import IngestUnavailable
from siyu.ingest.pipeline import IngestResult, claim, ingest
from siyu.ingest.spec import Message
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

log = logging.getLogger("siyu.ingest")

MAX_GROUP_EVENTS = 5000  # bound a transaction's size (and the time the first request waits)
SETTINGS_TTL_SECONDS = 30.0
PRUNE_EVERY_SECONDS = 60.0  # how often a pruning round starts over every workspace seen
# Keys deleted per step. Measured with 300k keys in the table: 30-60 ms a step on SQLite and PostgreSQL;
# 1,000-key steps took 12-33 ms (mostly the commit), twice the cost per key.
PRUNE_STEP = 5000
_STOP = object()


@dataclass
class _Job:
    workspace_id: int
    messages: list[Message]
    identifiers: list[list[Identifier]]
    future: asyncio.Future[IngestResult]
    loop: asyncio.AbstractEventLoop


class IngestWriter:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="siyu-ingest-writer", daemon=True)
        self._settings: dict[int, tuple[float, IdentityRules, str]] = {}
        self.pruner = DedupePruner(runtime.engine)
        self._thread.start()

    async def submit(self, workspace_id: int, messages: list[Message],
                     identifiers: list[list[Identifier]]) -> IngestResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._queue.put(_Job(workspace_id, messages, identifiers, future, loop))
        return await future

    def workspace_rules(self, workspace_id: int) -> tuple[IdentityRules, str]:
        """Identity rules and phone region of a workspace, cached briefly (settings change rarely)."""
        cached = self._settings.get(workspace_id)
        if cached and time.monotonic() - cached[0] < SETTINGS_TTL_SECONDS:
            return cached[1], cached[2]
        with read(self.runtime.engine) as conn:
            workspace = workspace_store.get_workspace(conn, workspace_id)
        rules = IdentityRules.from_settings(workspace.settings)
        self._settings[workspace_id] = (time.monotonic(), rules, workspace.default_region)
        return rules, workspace.default_region

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.pruner.seconds_until_due())
            except queue.Empty:
                self.pruner.step()
                continue
            if first is _STOP:
                return
            jobs = gather(self._queue, first, _STOP, MAX_GROUP_EVENTS, lambda job: len(job.messages))
            self._write_group(jobs)
            self.pruner.saw(job.workspace_id for job in jobs)
            self.pruner.step()

    def _write_group(self, jobs: list[_Job]) -> None:
        by_workspace: dict[int, list[_Job]] = defaultdict(list)
        for job in jobs:
            by_workspace[job.workspace_id].append(job)
        try:
            results: dict[int, IngestResult] = {}
            with write(self.runtime.engine) as conn:
                for workspace_id, group in by_workspace.items():
                    results[workspace_id] = self._ingest(conn, workspace_id, group)
        except Exception:  # noqa: BLE001 - the group is retried job by job below, each failure reported
            log.warning("group commit of %d requests failed; retrying each alone", len(jobs), exc_info=True)
            for job in jobs:
                self._write_alone(job)
            return
        for workspace_id, group in by_workspace.items():
            for job in group:
                _resolve(job, results[workspace_id])

    def _write_alone(self, job: _Job) -> None:
        try:
            with write(self.runtime.engine) as conn:
                result = self._ingest(conn, job.workspace_id, [job])
        except (OperationalError, InterfaceError) as error:  # the database, not the batch: retryable
            log.warning("ingest of one batch failed: database unavailable", exc_info=True)
            _fail(job, IngestUnavailable(f"The database is unavailable ({type(error.orig).__name__}); retry shortly."))
            return
        except Exception as error:  # noqa: BLE001 - handed to the waiting request, which answers 500
            log.exception("ingest of one batch failed")
            _fail(job, error)
            return
        _resolve(job, result)

    def _ingest(self, conn: Any, workspace_id: int, group: list[_Job]) -> IngestResult:
        rules, region = self.workspace_rules(workspace_id)
        messages = [m for job in group for m in job.messages]
        identifiers = [i for job in group for i in job.identifiers]
        window = timedelta(hours=self.runtime.config.dedupe_window_hours)
        if self.runtime.config.ingest_resolve == "deferred":
            result, batch = claim(conn, workspace_id, messages, identifiers, clock.now() + window)
            ingest_store.enqueue(conn, workspace_id, [ingest_queue.encode(m, i) for m, i in batch])
            result.accepted = len(batch)
            return result
        return ingest(conn, workspace_id, messages, rules=rules, region=region, dedupe_window=window,
                      identifiers=identifiers)


class DedupePruner:
    """Deletes expired dedupe keys in bounded steps, so the window stays the window.

    A round, every ``every`` seconds, queues each workspace seen; a step prunes one of them and
    requeues it when it had a full step's worth. The writer runs a step after each group and while
    idle, so housekeeping adds at most one step (tens of milliseconds) to a group's wait.
    """

    def __init__(self, engine: Engine, every: float | None = None, step_size: int | None = None) -> None:
        self.engine = engine
        self.every = PRUNE_EVERY_SECONDS if every is None else every
        self.step_size = PRUNE_STEP if step_size is None else step_size
        self._seen: set[int] = set()
        self._queued: deque[int] = deque()
        self._next_round = time.monotonic() + self.every

    def saw(self, workspace_ids: Iterable[int]) -> None:
        self._seen.update(workspace_ids)

    def seconds_until_due(self) -> float:
        return 0.0 if self._queued else max(0.0, self._next_round - time.monotonic())

    def step(self) -> int:
        """One bounded delete, if one is due; returns how many keys went."""
        if not self._queued:
            if time.monotonic() < self._next_round:
                return 0
            self._next_round = time.monotonic() + self.every
            self._queued.extend(sorted(self._seen))
            if not self._queued:
                return 0
        workspace_id = self._queued.popleft()
        try:
            with write(self.engine) as conn:
                deleted = ingest_store.prune_dedupe_keys(conn, workspace_id, clock.now(), limit=self.step_size)
        except Exception:  # noqa: BLE001 - pruning is housekeeping; the next round retries
            log.warning("pruning dedupe keys failed", exc_info=True)
            return 0
        if deleted >= self.step_size:
            self._queued.append(workspace_id)
        return deleted


def _resolve(job: _Job, result: IngestResult) -> None:
    def settle() -> None:
        if not job.future.done():
            job.future.set_result(result)

    _call_in_loop(job, settle)


def _fail(job: _Job, error: BaseException) -> None:
    def settle() -> None:
        if not job.future.done():
            job.future.set_exception(error)

    _call_in_loop(job, settle)


def _call_in_loop(job: _Job, callback: Any) -> None:
    try:
        job.loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the request's event loop has closed: nobody is waiting any more
        log.debug("ingest result for a closed event loop dropped")


def writer_for(runtime: Runtime) -> IngestWriter:
    """The process's writer, started on first use."""
    writer = runtime.extras.get("ingest_writer")
    if writer is None:
        lock = runtime.extras.setdefault("ingest_writer_lock", threading.Lock())
        with lock:
            writer = runtime.extras.get("ingest_writer")
            if writer is None:
                writer = IngestWriter(runtime)
                runtime.extras["ingest_writer"] = writer
    return writer


def stop_writer(runtime: Runtime) -> None:
    writer = runtime.extras.pop("ingest_writer", None)
    if writer is not None:
        writer.stop()
