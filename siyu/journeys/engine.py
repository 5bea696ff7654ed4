"""One round of the journey engine, as the worker runs it: for every workspace with a live or
paused journey, follow the event log (entries, woken waits, conversions) and fire due time
triggers; then advance every due entry. Each piece is its own short transaction
(:mod:`siyu.journeys.events`, :mod:`siyu.journeys.schedules`, :mod:`siyu.journeys.runner`), so
any number of workers may run rounds at once and a killed one costs nothing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from siyu import clock
from siyu.db.engine import read, write
from siyu.journeys import events, runner, schedules, store
from siyu.workspaces import store as workspace_store


@dataclass
class RoundReport:
    events: int = 0
    entered: int = 0
    woken: int = 0
    converted: int = 0
    advance: runner.AdvanceReport = field(default_factory=runner.AdvanceReport)


def run_due(engine: Engine, *, workspace_id: int | None = None,
            stop: threading.Event | None = None) -> RoundReport:
    """One round for one workspace (tests, ``siyu journeys run``) or all of them (the worker); a set
    ``stop`` ends it between workspaces and between advanced entries."""
    report = RoundReport()
    with read(engine) as conn:
        visiting = [workspace_store.get_workspace(conn, ws) for ws in store.workspaces_with_journeys(conn)
                    if workspace_id is None or ws == workspace_id]
    for workspace in visiting:
        if stop is not None and stop.is_set():
            return report
        while True:
            with write(engine) as conn:
                progress = events.process_new_events(conn, workspace.id, clock.now())
            report.events += progress.events
            report.entered += progress.entered
            report.woken += progress.woken
            report.converted += progress.converted
            if progress.events < events.BATCH:
                break
        report.entered += schedules.fire_due(engine, workspace.id, workspace.timezone)
    report.advance = runner.advance_due(engine, workspace_id=workspace_id, stop=stop)
    return report
