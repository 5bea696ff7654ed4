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
from concurrent.futures import Future

from siyu.callbacks.receive import Opened, Stored, store_group
from siyu.db import group_commit
from siyu.db.engine import write
from siyu.db.group_commit import GroupWriter
from siyu.runtime import Runtime

log = logging.getLogger("siyu.callbacks")
MAX_GROUP = 200


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
    results: list[tuple[Future[Stored], Stored | BaseException]] = []
    try:
        with write(runtime.engine) as conn:
            for opened, future in group:
                try:
                    with conn.begin_nested():
                        results.append((future, store_group(conn, runtime, [opened])[0]))
                except Exception as error:  # noqa: BLE001 - this push alone; handed to its request
                    log.warning("a callback failed in its savepoint", exc_info=True)
                    results.append((future, error))
    except Exception as error:  # noqa: BLE001 - the commit (or the database): every push may retry
        log.warning("a group of %d callbacks failed to commit", len(group), exc_info=True)
        for _, future in group:
            if not future.done():
                future.set_exception(error)
        return
    for future, outcome in results:
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def writer_for(runtime: Runtime) -> GroupWriter:
    """The process's callback writer: ``submit(opened)`` gives a future of the push's :class:`Stored`."""
    return group_commit.writer_for(runtime, "callback_writer", lambda: GroupWriter(
        "siyu-callback-writer", lambda group: write_group(runtime, group), MAX_GROUP))


def stop_writer(runtime: Runtime) -> None:
    group_commit.stop_writer(runtime, "callback_writer")
