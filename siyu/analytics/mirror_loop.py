"""The background sync loop: keeps every workspace's mirror fresh within seconds.

``siyu serve`` runs one beside the API (and a future ``siyu worker`` can run one too). Any number
of processes may: each sync takes the workspace's lock without waiting, so a workspace that
another process is syncing right now is skipped this round instead of queued behind it; the
freshness bound is therefore the interval plus one sync, whichever process does it.
"""

from __future__ import annotations

import logging
import threading
import time

from siyu.analytics.mirror import SyncReport, sync
from siyu.analytics.mirror_errors import MirrorBusy
from siyu.db.engine import read
from siyu.runtime import Runtime
from siyu.workspaces.store import list_workspaces

log = logging.getLogger("siyu.analytics")


class MirrorSyncLoop:
    """Syncs every workspace's mirror every ``SIYU_ANALYTICS_SYNC_SECONDS`` from a daemon thread."""

    def __init__(self, runtime: Runtime, interval_seconds: float | None = None) -> None:
        self.runtime = runtime
        self.interval = interval_seconds or runtime.config.analytics_sync_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[SyncReport]:
        with read(self.runtime.engine) as conn:
            workspace_ids = [w.id for w in list_workspaces(conn)]
        reports = []
        for workspace_id in workspace_ids:
            if self._stop.is_set():  # a stopping worker must not sync hundreds of workspaces first
                break
            try:
                reports.append(sync(self.runtime, workspace_id, wait_seconds=0))
            except MirrorBusy:
                continue
            except Exception:  # noqa: BLE001 - logged with its traceback; the next round retries
                log.exception("analytics mirror sync failed for workspace %s", workspace_id)
        return reports

    def _run(self) -> None:
        while True:  # one round at once; stop() ends a round between workspaces (a stopping worker)
            started = time.monotonic()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unreachable; retried next round
                log.exception("analytics mirror sync round failed")
            if self._stop.wait(max(self.interval - (time.monotonic() - started), 0.1)):
                return

    def start(self) -> MirrorSyncLoop:
        self._thread = threading.Thread(target=self._run, name="siyu-analytics-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
