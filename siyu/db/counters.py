"""Counts that need not be durable one by one (page views), added up in memory and written in bulk.

A public page opened thousands of times a second must not open a write transaction per view: on
SQLite the threads would queue on the database lock (its busy handler sleeps up to 100 ms a step),
and the page would wait for a number nobody reads that second. A :class:`Counter` adds views in
memory and writes them all in one transaction at most every ``every`` seconds, from its own thread,
and before anyone in this process reads the figures (:meth:`flush`). A crash loses at most that last
second of views; the things that must not be lost (joins, submissions, alerts) are written at once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter as Tally
from collections.abc import Callable, Hashable
from typing import Any

from siyu.db.engine import write

log = logging.getLogger("siyu.counters")


class Counter:
    def __init__(self, engine: Any, write_counts: Callable[[Any, dict[Hashable, int]], None],
                 every: float = 1.0) -> None:
        self.engine = engine
        self.write_counts = write_counts
        self.every = every
        self._pending: Tally[Hashable] = Tally()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siyu-counter", daemon=True)
        self._thread.start()

    def add(self, key: Hashable, count: int = 1) -> None:
        with self._lock:
            self._pending[key] += count

    def flush(self) -> None:
        """Write everything counted so far (called before figures are read, and at shutdown)."""
        with self._flushing:
            with self._lock:
                pending, self._pending = dict(self._pending), Tally()
            if not pending:
                return
            try:
                with write(self.engine) as conn:
                    self.write_counts(conn, pending)
            except Exception:  # noqa: BLE001 - put them back: the next flush tries again
                log.warning("writing %d counts failed; kept for the next flush", len(pending), exc_info=True)
                with self._lock:
                    self._pending.update(pending)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.flush()


def counter_for(runtime: Any, name: str, write_counts: Callable[[Any, dict[Hashable, int]], None]) -> Counter:
    """The process's counter called ``name`` (one per runtime), started on first use."""
    key = f"counter:{name}"
    counter = runtime.extras.get(key)
    if counter is None:
        lock = runtime.extras.setdefault("counter_lock", threading.Lock())
        with lock:
            counter = runtime.extras.get(key)
            if counter is None:
                counter = Counter(runtime.engine, write_counts)
                runtime.extras[key] = counter
    return counter


def flush_all(runtime: Any) -> None:
    for key, value in list(runtime.extras.items()):
        if key.startswith("counter:"):
            value.flush()


def stop_all(runtime: Any) -> None:
    for key in [k for k in runtime.extras if k.startswith("counter:")]:
        runtime.extras.pop(key).stop()
