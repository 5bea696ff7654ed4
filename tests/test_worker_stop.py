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
