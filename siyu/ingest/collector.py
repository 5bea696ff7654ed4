"""Python's cyclic garbage collector paused while a resolver batch runs, then the young generation collected.

A batch of 5,000 queued messages allocates some 100,000 objects (messages, identifiers, rows) that stay
alive until the batch commits, and the process holds the identifier owner cache (up to 200,000
identifiers) besides. The collector, triggered by allocation counts, traversed all of them again and
again while the batch was being built: measured in process (``bench/bench_resolver.py``, SQLite,
50,000 people) 82-88 → 50-57 µs of the resolver's CPU per event, about a third. Batches hold no
reference cycles, so nothing is lost by waiting; one collection of the young generation after each
batch still bounds whatever cycles the libraries make.

The switch is process-wide (the worker's other threads pause too, for one batch: well under a
second). Pauses nest and overlap across threads: the collector is switched back on when the last
pause ends, and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            restore = _depth == 0 and _was_enabled
            if restore:
                gc.enable()
        if restore:
            gc.collect(0)
