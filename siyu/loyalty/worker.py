"""The worker's step for loyalty, every pass and every workspace with a programme: follow the event
log (:mod:`siyu.loyalty.follow`), then, once per local day, the nightly evaluation
(:mod:`siyu.loyalty.nightly`). The day last evaluated is kept as a cursor (``loyalty.nightly``, its
position the local day number), taken in the same transaction that moves it, so two workers never
both run a night's evaluation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from siyu import clock
from siyu.db.engine import read, write
from siyu.ingest.store import newest_event_id
from siyu.loyalty import earning, follow, store
from siyu.loyalty.nightly import NightlyResult, run_nightly
from siyu.runtime import Runtime
from siyu.segments import store as cursor_store

NIGHTLY = "loyalty.nightly"


def run_due(rt: Runtime, workspaces: list) -> dict[str, int]:  # noqa: ANN001 - Workspace rows
    with read(rt.engine) as conn:
        with_programme = set(store.workspaces_with_programme(conn))
    done = {"events": 0, "nightly": 0}
    for workspace in workspaces:
        if workspace.id in with_programme:
            now = clock.now()
            done["events"] += follow_log(rt.engine, workspace.id, workspace.timezone, now)
            done["nightly"] += run_nightly_if_due(rt.engine, workspace.id, workspace.timezone, now) is not None
    from siyu.loyalty import tasks_worker

    done.update(tasks_worker.run_due(rt, workspaces))  # growth tasks: every workspace with a task
    return done


def follow_log(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> int:
    with read(engine) as conn:
        position = store.cursor_position(conn, workspace_id, follow.CURSOR)
        if position is not None and position >= newest_event_id(conn, workspace_id):
            return 0  # nothing new: no write transaction
    looked_total = 0
    while True:
        with write(engine) as conn:
            programme, _, _ = store.get_programme(conn, workspace_id)
            looked = follow.follow_batch(conn, workspace_id, programme, timezone, now)
        looked_total += looked
        if looked < follow.BATCH:
            return looked_total


def run_nightly_if_due(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> NightlyResult | None:
    """The evaluation, at most once per local day (the first pass after local midnight)."""
    today = earning.local_day(now, timezone)
    with read(engine) as conn:
        done = store.cursor_position(conn, workspace_id, NIGHTLY)
    if done is not None and done >= today:
        return None
    with write(engine) as conn:
        last = cursor_store.claim_cursor(conn, workspace_id, NIGHTLY, now, initial=today - 1)
        if last >= today:
            return None
        cursor_store.advance_cursor(conn, workspace_id, NIGHTLY, today, now)
    return run_nightly(engine, workspace_id, timezone, now)
