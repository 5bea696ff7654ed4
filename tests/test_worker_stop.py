"""A stopping worker (SIGTERM, or its server gone) ends its pass between steps: each capability's step
covers every workspace, so on a database with many a whole pass is long, and `siyu serve`'s worker must
not outlive its killed server by that much."""

from __future__ import annotations

import threading

import pytest

from siyu.runtime import Runtime
from siyu.worker import run_pass


def test_a_stopped_pass_runs_no_further_step(runtime: Runtime, workspace, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    ran: list[str] = []
    for module in ("siyu.staff.worker", "siyu.payments.worker", "siyu.loyalty.worker"):
        monkeypatch.setattr(f"{module}.run_due", lambda _rt, _ws, name=module: ran.append(name))
    stop = threading.Event()
    run_pass(runtime, stop=stop)
    assert ran == ["siyu.staff.worker", "siyu.payments.worker", "siyu.loyalty.worker"]  # all, in order
    ran.clear()
    stop.set()
    run_pass(runtime, stop=stop)
    assert ran == []


def test_a_step_stops_between_workspaces_once_stopped() -> None:
    from siyu.worker import UntilStopped

    stop = threading.Event()
    seen = []
    for number in UntilStopped([1, 2, 3, 4], stop):
        seen.append(number)
        if number == 2:
            stop.set()  # the server went during the step's second workspace
    assert seen == [1, 2] and len(UntilStopped([1, 2, 3], None)) == 3
    assert list(UntilStopped([1, 2, 3], None)) == [1, 2, 3]


def test_a_stopped_pass_skips_delivery_and_groups(runtime: Runtime, workspace,  # noqa: ANN001
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    stop = threading.Event()

    def journeys(_engine, *, stop: threading.Event | None = None) -> None:  # noqa: ANN001
        ran.append("journeys")
        assert stop is not None
        stop.set()  # the SIGTERM arrives while the journeys run

    monkeypatch.setattr("siyu.journeys.engine.run_due", journeys)
    monkeypatch.setattr("siyu.messaging.broadcasts.fan_out_due", lambda _engine: ran.append("deliver"))
    monkeypatch.setattr("siyu.groups.worker.run_due", lambda _rt: ran.append("groups"))
    run_pass(runtime, stop=stop)
    assert ran == ["journeys"]


def test_the_journeys_round_ends_between_workspaces_and_entries(runtime: Runtime, workspace,  # noqa: ANN001
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.journeys import engine as journey_engine
    from siyu.journeys import runner

    claims: list[int] = []
    monkeypatch.setattr("siyu.journeys.store.workspaces_with_journeys", lambda _conn: [workspace.id])
    monkeypatch.setattr("siyu.journeys.entry_store.claim_due",
                        lambda _conn, _now, _ws: claims.append(1))  # would return None: nothing due
    stop = threading.Event()
    stop.set()
    report = journey_engine.run_due(runtime.engine, stop=stop)
    assert report.events == 0 and claims == []  # neither the log nor the due entries were read
    assert runner.advance_due(runtime.engine, stop=stop).advanced == 0 and claims == []
    runner.advance_due(runtime.engine)
    assert claims == [1]  # without stop the same call looks for due entries


def test_the_mirror_round_ends_between_workspaces(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from siyu.analytics.mirror_loop import MirrorSyncLoop

    loop = MirrorSyncLoop(runtime, interval_seconds=60)
    synced: list[int] = []

    def sync(_rt, workspace_id: int, wait_seconds: float) -> int:  # noqa: ANN001
        synced.append(workspace_id)
        loop._stop.set()  # the worker is told to stop during the first workspace's sync
        return workspace_id

    monkeypatch.setattr("siyu.analytics.mirror_loop.list_workspaces",
                        lambda _conn: [SimpleNamespace(id=number) for number in (1, 2, 3)])
    monkeypatch.setattr("siyu.analytics.mirror_loop.sync", sync)
    assert loop.run_once() == [1] and synced == [1]
