"""Group commit's shared parts: the loop every group-commit writer (ingest, callbacks, claims) uses to
gather a group — take the job that woke the writer, then whatever else is already waiting, up to a
size, leaving a stop marker in the queue for the next round — and the writer thread of the callbacks
and claims."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


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
    """One thread that takes jobs in groups: ``write_group(group)`` gets each group, a list of
    ``(job, future)``, and resolves every future once the group is durable. The callback and claim
    writers are two of these; see their modules for why a group, and what one failure does."""

    STOP = object()

    def __init__(self, name: str, write_group: Callable[[list[tuple[Any, Future[Any]]]], None],
                 max_group: int) -> None:
        self._write_group = write_group
        self._max_group = max_group
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Any) -> Future[Any]:
        """Write ``job`` with the next group; the future resolves once that group is committed."""
        future: Future[Any] = Future()
        self._queue.put((job, future))
        return future

    def stop(self) -> None:
        self._queue.put(self.STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is self.STOP:
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
