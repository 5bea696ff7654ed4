"""``siyu worker``: the background loop that follows the event log.

Each pass visits every workspace with active segments: real-time evaluation of the people behind
new events (until the log is drained), then the scheduled refresh when it is due. Every step is
its own short write transaction with its cursor, so any number of workers can run (they take
turns on a workspace's cursor) and ``kill -9`` at any point repeats nothing and loses nothing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from siyu import clock
from siyu.db.engine import read, write
from siyu.runtime import Runtime

log = logging.getLogger("siyu.worker")


@dataclass
class PassResult:
    events: int = 0
    refreshed: list[int] = field(default_factory=list)  # workspaces whose scheduled refresh ran


def run_pass(rt: Runtime, *, refresh_every: timedelta | None = None) -> PassResult:
    from siyu.segments import realtime
    from siyu.segments import store as segment_store
    from siyu.workspaces import store as workspace_store

    every = refresh_every or timedelta(minutes=rt.config.segment_refresh_minutes)
    result = PassResult()
    with read(rt.engine) as conn:
        workspace_ids = segment_store.workspaces_with_segments(conn)
    for workspace_id in workspace_ids:
        with read(rt.engine) as conn:
            timezone = workspace_store.get_workspace(conn, workspace_id).timezone
        while True:
            with write(rt.engine) as conn:
                progress = realtime.process_new_events(conn, workspace_id, clock.now(), timezone)
            result.events += progress.events
            if progress.events < realtime.BATCH:
                break
        with write(rt.engine) as conn:
            if realtime.refresh_if_due(conn, workspace_id, clock.now(), timezone, every) is not None:
                result.refreshed.append(workspace_id)
    return result


def run_forever(rt: Runtime, stop: threading.Event, interval: float = 1.0) -> None:
    while not stop.is_set():
        try:
            run_pass(rt)
        except Exception:  # noqa: BLE001 - logged; the next pass retries from the cursors
            log.exception("worker pass failed; retrying in %.0f s", interval * 5)
            stop.wait(interval * 5)
            continue
        stop.wait(interval)
