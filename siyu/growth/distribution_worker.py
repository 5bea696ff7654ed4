"""The worker's step for distribution: in every workspace with promoters, new orders and refunds in
the log turned into ledger rows (:func:`siyu.growth.distribution_ledger.process_new_events`, until
the log is drained), then commissions past their refund window confirmed. Each is its own short
write transaction; any number of workers may run (they take turns on the cursor's row lock)."""

from __future__ import annotations

from sqlalchemy import Engine

from siyu import clock
from siyu.db.engine import read, write
from siyu.growth import distribution_store as store
from siyu.growth.distribution_ledger import BATCH, confirm_due, process_new_events
from siyu.runtime import Runtime

COUNTS = ("events", "written", "reversed", "adjusted")


def process_workspace(engine: Engine, workspace_id: int) -> dict[str, int]:
    """New log entries to ledger rows, in batches until drained; then the due confirmations."""
    done = dict.fromkeys(COUNTS, 0)
    while True:
        with write(engine) as conn:
            progress = process_new_events(conn, workspace_id, clock.now())
        for what in COUNTS:
            done[what] += getattr(progress, what)
        if progress.events < BATCH:
            break
    with write(engine) as conn:
        done["confirmed"] = confirm_due(conn, workspace_id, clock.now())
    return done


def run_due(rt: Runtime, workspaces: list) -> dict[str, int]:  # noqa: ANN001 - Workspace rows
    with read(rt.engine) as conn:
        following = set(store.workspaces_with_promoters(conn))
    total: dict[str, int] = {}
    for workspace in workspaces:
        if workspace.id in following:
            for what, count in process_workspace(rt.engine, workspace.id).items():
                total[what] = total.get(what, 0) + count
    return total
