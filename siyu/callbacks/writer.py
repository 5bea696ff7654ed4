"""Group commit for callbacks: many pushes, one write transaction.

Every push must be durable before it is answered (the platform does not retry a push that got its
answer), so each one costs a commit; and on SQLite, threads that each open a write transaction
queue on the database lock in SQLite's busy handler, which sleeps in steps of up to 100 ms — the
reply latency a customer waits for. Here one thread takes every push waiting (up to
:data:`MAX_GROUP`), stores them together (:func:`siyu.callbacks.receive.store_group`: one ingest
batch, then each push's handlers), commits once, then answers them all.

A failure is rare and must not cost the others their answer: when the group fails, the thread
rolls it back and stores its pushes again one by one, each in its own savepoint of one transaction —
the push that fails alone gets its error (503, so the platform retries) and keeps nothing, the
others commit. A failed commit fails them all, all retryable.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

from siyu.callbacks.receive import Opened, Stored, store_group
from siyu.db.engine import write
from siyu.db.group_commit import gather
from siyu.runtime import Runtime

log = logging.getLogger("siyu.callbacks")
MAX_GROUP = 200
_STOP = object()


class CallbackWriter:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="siyu-callback-writer", daemon=True)
        self._thread.start()

    def submit(self, opened: Opened) -> Future[Stored]:
        """Store ``opened`` with the next group; the future resolves once that group is committed."""
        future: Future[Stored] = Future()
        self._queue.put((opened, future))
        return future

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            write_group(self.runtime, gather(self._queue, first, _STOP, MAX_GROUP))


def write_group(runtime: Runtime, group: list[tuple[Opened, Future[Stored]]]) -> None:
    """Store ``group`` in one transaction and resolve each future with its push's result or error."""
    try:
        with write(runtime.engine) as conn:
            stored = store_group(conn, runtime, [opened for opened, _ in group])
    except Exception as error:  # noqa: BLE001 - find the push at fault, or fail them all (below)
        if len(group) == 1:
            log.warning("a callback failed", exc_info=True)
            group[0][1].set_exception(error)
            return
        _write_one_by_one(runtime, group)
        return
    for (_, future), result in zip(group, stored, strict=True):
        future.set_result(result)


def _write_one_by_one(runtime: Runtime, group: list[tuple[Opened, Future[Stored]]]) -> None:
    results: list[tuple[Future[Stored], Stored | None, BaseException | None]] = []
    try:
        with write(runtime.engine) as conn:
            for opened, future in group:
                try:
                    with conn.begin_nested():
                        results.append((future, store_group(conn, runtime, [opened])[0], None))
                except Exception as error:  # noqa: BLE001 - this push alone; handed to its request
                    log.warning("a callback failed in its savepoint", exc_info=True)
                    results.append((future, None, error))
    except Exception as error:  # noqa: BLE001 - the commit (or the database): every push may retry
        log.warning("a group of %d callbacks failed to commit", len(group), exc_info=True)
        for _, future in group:
            if not future.done():
                future.set_exception(error)
        return
    for future, result, failure in results:
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(result)  # type: ignore[arg-type] - set with its result above


def writer_for(runtime: Runtime) -> CallbackWriter:
    writer = runtime.extras.get("callback_writer")
    if writer is None:
        lock = runtime.extras.setdefault("callback_writer_lock", threading.Lock())
        with lock:
            writer = runtime.extras.get("callback_writer")
            if writer is None:
                writer = CallbackWriter(runtime)
                runtime.extras["callback_writer"] = writer
    return writer


def stop_writer(runtime: Runtime) -> None:
    writer = runtime.extras.pop("callback_writer", None)
    if writer is not None:
        writer.stop()
