"""The one loop both group-commit writers (ingest, callbacks) use to gather a group: take the job that
woke the writer, then whatever else is already waiting, up to a size, leaving a stop marker in the
queue for the next round."""

from __future__ import annotations

import queue
from collections.abc import Callable
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
