"""Advancing due entries, one entry per transaction.

An advance runs the entry's current step and every step after it that needs no time — a
condition, a send, a tag — until a wait (the entry sleeps until ``due_at``), the end, or an exit,
and commits the new state with everything the steps wrote. Each step visited is recorded
(:func:`siyu.journeys.entry_store.open_visit`) for the figures. Because the whole advance is one
transaction, ``kill -9`` at any point either loses all of it (the entry is still due and runs
again) or none of it; the outbox key makes a repeated send impossible either way.

A waiting entry whose ``due_at`` came has finished its wait: a plain wait goes on; a wait for an
event takes the event branch if the event pass woke it or, checking the log once more (an event
may have been written while the entry was still getting there), if the event happened; else the
timeout branch.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from siyu import clock
from siyu.db.engine import write
from siyu.journeys import definitions, entry_store, steps, store
from siyu.journeys.actions import Outcome, Running, perform
from siyu.journeys.models import END, Cohort, Definition, Entry, EntryStatus, Wait, WaitFor
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import is_erased, resolve_profile_id
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Workspace

log = logging.getLogger("siyu.journeys")
MAX_ATTEMPTS = 5
RETRY = timedelta(minutes=1)  # 1, 2, 4, 8 minutes after an advance that failed


@dataclass
class AdvanceReport:
    advanced: int = 0
    steps: int = 0
    finished: dict[str, int] = field(default_factory=dict)  # completed / exited / ... counts
    failed: int = 0


def advance_due(engine: Engine, *, workspace_id: int | None = None, limit: int = 10_000,
                stop: threading.Event | None = None) -> AdvanceReport:
    """Advance due entries (of one workspace, or all) until none is due, ``limit`` were advanced or
    ``stop`` is set."""
    report = AdvanceReport()
    workspaces: dict[int, Workspace] = {}
    for _ in range(limit):
        if stop is not None and stop.is_set():
            break
        now = clock.now()
        claimed: Entry | None = None
        try:
            with write(engine) as conn:
                claimed = entry_store.claim_due(conn, now, workspace_id)
                if claimed is None:
                    break
                if claimed.workspace_id not in workspaces:
                    workspaces[claimed.workspace_id] = workspace_store.get_workspace(conn, claimed.workspace_id)
                advance(conn, workspaces[claimed.workspace_id], claimed, now, report)
            report.advanced += 1
        except Exception:  # noqa: BLE001 - recorded on the entry and retried with backoff, then exited
            if claimed is None:
                raise
            log.exception("journey %s entry %s: advance failed", claimed.journey_id, claimed.id)
            report.failed += 1
            _record_failure(engine, claimed, now)
    return report


def _record_failure(engine: Engine, entry: Entry, now: datetime) -> None:
    attempts = entry.attempts + 1
    with write(engine) as conn:
        if attempts >= MAX_ATTEMPTS:
            entry_store.update_entry(conn, entry, now, status=EntryStatus.EXITED, exit_reason="journeys.step_failed",
                                     finished_at=now, due_at=None, attempts=attempts)
        else:
            entry_store.update_entry(conn, entry, now, attempts=attempts,
                                     due_at=now + RETRY * (2 ** (attempts - 1)))


def advance(conn: Connection, workspace: Workspace, entry: Entry, now: datetime,
            report: AdvanceReport | None = None) -> None:
    report = report or AdvanceReport()
    version = store.get_version(conn, entry.workspace_id, entry.journey_id, entry.version)
    definition = definitions.parse_stored(version.definition)
    if entry.cohort is Cohort.HOLDOUT:  # the observation window is over
        _finish(conn, entry, now, EntryStatus.COMPLETED, "holdout", report)
        return
    try:
        person = resolve_profile_id(conn, entry.workspace_id, entry.profile_id)
    except ProfileNotFound:
        person = None
    if person is None or is_erased(conn, entry.workspace_id, person):
        _finish(conn, entry, now, EntryStatus.EXITED, "profile.gone", report)
        return
    if person != entry.profile_id:  # merged into another profile since: follow the survivor
        entry_store.update_entry(conn, entry, now, profile_id=person)
        entry.profile_id = person
    current = entry.step or definition.first
    if entry.status is EntryStatus.WAITING:
        code, current = _end_of_wait(conn, entry, definition, now)
        entry_store.close_visit(conn, entry, entry.step or "", now, code)
    run = Running(workspace, entry, definition, now)
    for _ in range(len(definition.steps) + 1):  # the steps are acyclic: each is visited at most once
        if current == END:
            _finish(conn, entry, now, EntryStatus.COMPLETED, None, report)
            return
        step = definition.step(current)
        entry_store.open_visit(conn, entry, step.id, now)
        outcome: Outcome = perform(conn, run, step)
        report.steps += 1
        if outcome.wait_until is not None:
            entry_store.update_entry(conn, entry, now, status=EntryStatus.WAITING, step=step.id,
                                     step_started_at=now, due_at=outcome.wait_until, woken_by=None, attempts=0)
            return
        entry_store.close_visit(conn, entry, step.id, now, outcome.code, outcome.message_id)
        if outcome.exit_reason is not None:
            _finish(conn, entry, now, EntryStatus.EXITED, outcome.exit_reason, report, step=step.id)
            return
        assert outcome.next is not None, step
        current = outcome.next
    raise AssertionError(f"journey {entry.journey_id} v{entry.version} did not end: its steps loop")


def _end_of_wait(conn: Connection, entry: Entry, definition: Definition, now: datetime
                 ) -> tuple[str, str]:
    step = definition.step(entry.step or "")
    if isinstance(step, Wait):
        return "waited", step.next
    assert isinstance(step, WaitFor), step
    if entry.woken_by is not None or _happened(conn, entry, step, now):
        return "event", step.on_event
    return "timeout", step.on_timeout


def _happened(conn: Connection, entry: Entry, step: WaitFor, now: datetime) -> bool:
    started = entry.step_started_at or entry.entered_at
    return any(steps.event_matches(step.match, row.name, row.properties, row.timestamp)
               for row in store.events_of_profile(conn, entry.workspace_id, entry.profile_id, step.match.name,
                                                  entry.after_event_id, started, now))


def _finish(conn: Connection, entry: Entry, now: datetime, status: EntryStatus,
            reason: str | None, report: AdvanceReport, step: str | None = None) -> None:
    entry_store.update_entry(conn, entry, now, status=status, exit_reason=reason, finished_at=now, due_at=None,
                             step=step, attempts=0)
    report.finished[status.value] = report.finished.get(status.value, 0) + 1
