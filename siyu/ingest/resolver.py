"""The worker's half of deferred ingest: queued messages become events, in the order acknowledged.

Each batch is one write transaction under the workspace's identity-graph lock: take the oldest
queued rows, resolve them with the same code as inline ingest
(:func:`siyu.ingest.pipeline.resolve_and_store`), delete exactly those rows, commit. A crash
anywhere rolls the whole batch back, so a message is resolved once or not yet, never twice; any
number of workers may run it (the lock makes them take turns per workspace, in order).

A batch that fails for a reason other than the database being unavailable is split in halves
until the failing message is alone; that message is then stored without a profile (logged, and
marked in ``context.siyu.unresolved``) rather than blocking the queue behind it — an acknowledged
event is never dropped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from siyu import clock
from siyu.db.engine import read, write
from siyu.identity import store as identity_store
from siyu.identity.rules import IdentityRules
from siyu.ingest import collector, queue
from siyu.ingest import store as ingest_store
from siyu.ingest.pipeline import event_row, resolve_and_store
from siyu.workspaces import store as workspace_store

log = logging.getLogger("siyu.ingest.resolver")
BATCH = 5000  # the inline writer's largest group, for the same reasons (transaction size, lock time)


def resolve_queued(engine: Engine, *, limit: int = BATCH, stop: threading.Event | None = None) -> int:
    """Resolve everything waiting, workspace by workspace (until ``stop`` is set); returns how many messages."""
    with read(engine) as conn:
        workspaces = ingest_store.queued_workspaces(conn)
    total = 0
    for workspace_id in workspaces:
        while stop is None or not stop.is_set():
            done = resolve_batch(engine, workspace_id, limit)
            total += done
            if done < limit:
                break
    return total


def resolve_batch(engine: Engine, workspace_id: int, limit: int = BATCH) -> int:
    """One batch of a workspace's queue; returns how many messages it took (0: none waiting)."""
    with collector.paused():
        return _resolve_batch(engine, workspace_id, limit)


def _resolve_batch(engine: Engine, workspace_id: int, limit: int) -> int:
    try:
        with write(engine) as conn:
            identity_store.lock_identity_graph(conn, workspace_id)
            taken = ingest_store.take_queued(conn, workspace_id, limit)
            if taken:
                _resolve(conn, workspace_id, taken)
                ingest_store.drop_queued(conn, workspace_id, [row_id for row_id, _ in taken])
            return len(taken)
    except (OperationalError, InterfaceError):
        raise  # the database, not the messages: the caller retries later
    except Exception:  # noqa: BLE001 - a message the pipeline cannot take; isolate it below
        log.warning("resolving a batch of workspace %s failed; isolating the message", workspace_id, exc_info=True)
    return _isolate(engine, workspace_id, limit)


def _resolve(conn, workspace_id: int, taken: list[tuple[int, str]]) -> None:  # noqa: ANN001
    workspace = workspace_store.get_workspace(conn, workspace_id)
    rules = IdentityRules.from_settings(workspace.settings)
    batch = [queue.decode(text) for _, text in taken]
    resolve_and_store(conn, workspace_id, batch, rules=rules, now=clock.now())


def _isolate(engine: Engine, workspace_id: int, limit: int) -> int:
    """Halve the batch until the bad message is found; resolve the good ones before it."""
    size = limit
    while size > 1:
        size //= 2
        try:
            with write(engine) as conn:
                identity_store.lock_identity_graph(conn, workspace_id)
                taken = ingest_store.take_queued(conn, workspace_id, size)
                if not taken:
                    return 0
                _resolve(conn, workspace_id, taken)
                ingest_store.drop_queued(conn, workspace_id, [row_id for row_id, _ in taken])
                return len(taken)
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001 - keep halving
            continue
    with write(engine) as conn:  # the first queued message alone fails: keep it, without a profile
        identity_store.lock_identity_graph(conn, workspace_id)
        taken = ingest_store.take_queued(conn, workspace_id, 1)
        if not taken:
            return 0
        message = queue.objects(queue.decode(taken[0][1])[0])
        log.error("message %s of workspace %s could not be resolved; stored without a profile",
                  message.message_id, workspace_id)
        siyu_context = {**(message.context.get("siyu") or {}), "unresolved": True}
        message = replace(message, context={**message.context, "siyu": siyu_context})
        ingest_store.append_events(conn, workspace_id, [event_row(workspace_id, message, None)])
        ingest_store.drop_queued(conn, workspace_id, [taken[0][0]])
        return 1


class ResolverLoop:
    """A thread of ``siyu worker`` that resolves the queue as it fills: continuously while there is
    a backlog, polling every ``idle`` seconds when empty (one indexed query), so an acknowledged
    event reaches its profile, segments and journeys within a fraction of a second."""

    def __init__(self, engine: Engine, idle: float = 0.05) -> None:
        self.engine = engine
        self.idle = idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="siyu-ingest-resolver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = resolve_queued(self.engine, stop=self._stop)
            except Exception:  # noqa: BLE001 - the database went away; try again shortly
                log.warning("resolving queued events failed; retrying", exc_info=True)
                self._stop.wait(1.0)
                continue
            if not done:
                self._stop.wait(self.idle)
