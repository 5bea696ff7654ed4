"""Counts kept in memory and written in bulk: every view counted exactly once, even when a write
fails (they are kept for the next flush) and when many threads add at once."""

from __future__ import annotations

import threading
from typing import Any

from siyu.db.counters import Counter


def test_concurrent_adds_are_written_once_each_and_a_failed_write_keeps_them(runtime: Any) -> None:
    written: dict[Any, int] = {}
    failures = [1]

    def write_counts(conn: Any, counts: dict[Any, int]) -> None:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("the database went away")
        for key, count in counts.items():
            written[key] = written.get(key, 0) + count

    counter = Counter(runtime.engine, write_counts, every=3600)  # flushed by hand below

    def add(n: int) -> None:
        for _ in range(500):
            counter.add(("page", n % 3))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counter.flush()  # fails: nothing written, nothing lost
    assert written == {}
    counter.add(("page", 0))
    counter.stop()  # flushes
    assert written == {("page", 0): 1001, ("page", 1): 1000, ("page", 2): 1000}
