"""Group commit's shared parts: the loop every group-commit writer (ingest, callbacks, claims) uses to
gather a group — take the job that woke the writer, then whatever else is already waiting, up to a
size, leaving a stop marker in the queue for the next round — and the writer thread of the callbacks
and claims."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from siyu.db.engine import is_sqlite, write


def gather(waiting: queue.Queue[Any], first: Any, stop: object, limit: int,
           size: Callable[[Any], int] = lambda _: 1) -> list[Any]:
    """``first`` and the jobs queued behind it, until their total ``size`` reaches ``limit``."""
    group, total = [first], size(first)
    while total < limit:
        try:
            job = waiting.get_nowait()
        except queue.Empty:
            break
        if job is stop:
            waiting.put(stop)  # seen by the writer's next wait
            break
        group.append(job)
        total += size(job)
    return group


class GroupWriter:
    """A thread (or ``threads``) taking jobs in groups: ``write_group(group)`` gets each group, a list
    of ``(job, future)``, and resolves every future once the group is durable. The callback and claim
    writers are two of these; see their modules for why a group, what one failure does, and when more
    than one thread."""

    STOP = object()

    def __init__(self, name: str, write_group: Callable[[list[tuple[Any, Future[Any]]]], None],
                 max_group: int, threads: int = 1, on_stop: Callable[[], None] | None = None) -> None:
        self._write_group = write_group
        self._on_stop = on_stop
        self._max_group = max_group
        self._queue: queue.Queue[Any] = queue.Queue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True) for n in range(threads)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Any) -> Future[Any]:
        """Write ``job`` with the next group; the future resolves once that group is committed."""
        future: Future[Any] = Future()
        self._queue.put((job, future))
        return future

    def stop(self) -> None:
        self._queue.put(self.STOP)  # each thread that sees it puts it back for the next (see gather)
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is self.STOP:
                self._queue.put(self.STOP)
                if self._on_stop is not None:
                    self._on_stop()
                return
            self._write_group(gather(self._queue, first, self.STOP, self._max_group))


def writer_for(runtime: Any, name: str, make: Callable[[], GroupWriter]) -> GroupWriter:
    """The process's one writer called ``name`` (kept in ``runtime.extras``), started on first use."""
    writer = runtime.extras.get(name)
    if writer is None:
        with runtime.extras.setdefault(f"{name}_lock", threading.Lock()):
            writer = runtime.extras.get(name)
            if writer is None:
                writer = runtime.extras[name] = make()
    return writer


def stop_writer(runtime: Any, name: str) -> None:
    writer = runtime.extras.pop(name, None)
    if writer is not None:
        writer.stop()


class HeldConnection:
    """Each writer thread's own PostgreSQL connection, kept from one group to the next.

    A connection from the pool is pinged at every checkout (``pool_pre_ping``): one more round trip
    per group, and a group's time is mostly round trips. A writer's connection is checked out once
    instead. If it is lost, the group fails, the connection is dropped (SQLAlchemy invalidates it),
    and the writer stores the group's jobs again one by one on a fresh one — what it does for any
    failed group — so nothing is lost for the missing ping. On SQLite, the plain write transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if is_sqlite(self.engine):
            with write(self.engine) as written:
                yield written
            return
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._local.conn = self.engine.connect()
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self._local.conn = None
            conn.close()
            raise

    def release(self) -> None:
        """Give the calling thread's connection back (its writer is stopping)."""
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            conn.close()
