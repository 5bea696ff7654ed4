"""Group commit for callbacks: many pushes, one write transaction, each in its own savepoint.

Every push must be durable before it is answered (the platform does not retry a push that got its
answer), so each one costs a commit; and on SQLite, threads that each open a write transaction
queue on the database lock in SQLite's busy handler, which sleeps in steps of up to 100 ms — the
reply latency a customer waits for. Here one thread takes every push waiting (up to
:data:`MAX_GROUP`), runs each inside a savepoint of one transaction, commits once, then answers them
all. A push whose handlers fail rolls back its own savepoint and gets its error (503, so the platform
retries) while the others commit; a failed commit fails the group, all retryable.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

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

    def run(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(conn)`` in the next group's transaction; return its result once committed."""
        future: Future[Any] = Future()
        self._queue.put((work, future))
        return future.result()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            self._write(gather(self._queue, first, _STOP, MAX_GROUP))

    def _write(self, group: list[tuple[Callable[[Any], Any], Future[Any]]]) -> None:
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with write(self.runtime.engine) as conn:
                for work, future in group:
                    try:
                        with conn.begin_nested():
                            results.append((future, work(conn), None))
                    except Exception as error:  # noqa: BLE001 - this push alone; handed to its request
                        log.warning("a callback failed in its savepoint", exc_info=True)
                        results.append((future, None, error))
        except Exception as error:  # noqa: BLE001 - the commit (or the database): every push may retry
            log.warning("a group of %d callbacks failed to commit", len(group), exc_info=True)
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for future, result, error in results:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)


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
