"""The worker's step for offers: each workspace's unused claims past their validity expire. A read
first, so an idle pass takes no write lock; then short write transactions of a batch each."""

from __future__ import annotations

from siyu import clock
from siyu.db.engine import read, write
from siyu.offers import service, store
from siyu.runtime import Runtime

BATCH = 1000


def run_due(rt: Runtime, workspaces: list) -> int:  # noqa: ANN001 - Workspace rows
    expired = 0
    for workspace in workspaces:
        now = clock.now()
        with read(rt.engine) as conn:
            if not store.any_due(conn, workspace.id, now):
                continue
        while True:
            with write(rt.engine) as conn:
                done = service.expire_claims(conn, workspace.id, now=now, limit=BATCH)
            expired += done
            if done < BATCH:
                break
    return expired
