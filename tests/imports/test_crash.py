"""kill -9 in the middle of a large import, then the same import again: exactly the right result.

A real ``siyu import orders`` process (writing in chunks, converting in its child process) is
killed with SIGKILL as soon as its first chunk has committed; the same command is then run to the
end. The workspace must hold exactly what one uninterrupted import of the file gives another
workspace: every order once, the same people, identifiers, rollups and counts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu.db.engine import read
from siyu.db.tables import events
from siyu.imports import runner
from siyu.runtime import Runtime
from tests.identity.test_bulk import snapshot
from tests.imports.test_imports import tmall_file, tmall_row

pytestmark = pytest.mark.slow

ROWS = 4 * runner.WRITE_ROWS  # four write chunks; the file is large enough to be converted in a child


def _command(path: Path, workspace: str) -> list[str]:
    return [sys.executable, "-m", "siyu", "import", "orders", str(path), "--workspace", workspace,
            "--preset", "tmall", "--json"]


def _event_count(runtime: Runtime, workspace_id: int) -> int:
    with read(runtime.engine) as conn:
        return conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace_id)).scalar_one()


def _without_run_times(taken: dict[str, Any]) -> dict[str, Any]:
    """The snapshot without the wall-clock times of the run (creation and update times of rows,
    received_at): two runs at different moments differ there and nowhere else."""
    return {**taken,
            "profiles": [(p[0], p[1], *p[4:]) for p in taken["profiles"]],
            "identities": [(i[0], i[1], i[2], i[5]) for i in taken["identities"]],
            "events": [(*e[:7], *e[8:]) for e in taken["events"]]}


def test_kill_9_mid_import_then_a_rerun_gives_exactly_one_import(runtime: Runtime, database_url: str, workspace,
                                                                   other_workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [
        tmall_row(f"4{n:07d}", f"buyer{n % 9000}", f"{10 + n % 7}.90", f"1390013{n % 9000:04d}" if n % 997 else "12",
                  when=f"2025-{1 + n % 12:02d}-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:00") for n in range(ROWS)])
    env = {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(tmp_path / "data")}

    killed = subprocess.Popen(_command(path, workspace.name), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _event_count(runtime, workspace.id) == 0:
        assert killed.poll() is None, "the import ended before its first chunk was seen"
        assert time.monotonic() < deadline, "the first chunk never committed"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    stored_before = _event_count(runtime, workspace.id)
    assert 0 < stored_before < ROWS - ROWS // 997, "the kill should land mid-import"

    rerun = subprocess.run(_command(path, workspace.name), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    outcome = json.loads(rerun.stdout.strip().splitlines()[-1])
    failed = len([n for n in range(ROWS) if not n % 997])
    assert outcome["rows_failed"] == failed
    assert (outcome["rows_ok"], outcome["rows_duplicate"]) == (ROWS - failed - stored_before, stored_before)

    clean = subprocess.run(_command(path, other_workspace.name), env=env, capture_output=True, text=True,
                           timeout=600)
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert _event_count(runtime, workspace.id) == _event_count(runtime, other_workspace.id) == ROWS - failed
    assert _without_run_times(snapshot(runtime, workspace.id)) == _without_run_times(
        snapshot(runtime, other_workspace.id))
