"""`siyu serve` runs the worker beside it: segments follow new events with nothing else started,
and the worker goes when the server goes, even after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.ingest.test_crash import _env, _start

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _eventually(check, seconds: float = 60.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_serve_runs_the_worker_and_takes_it_down_when_killed(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = _env(database_url, tmp_path)
    created = subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", f"serve{os.getpid()}", "--json"],
                             env=env, capture_output=True, text=True, check=True)
    keys = json.loads(created.stdout)
    port = free_port()
    server = _start(env, port)
    base = f"http://127.0.0.1:{port}"
    bearer = {"Authorization": f"Bearer {keys['secret_key']}"}
    try:
        workers = _children(server.pid)
        assert len(workers) == 1, "serve starts exactly one worker process"
        segment = httpx.post(f"{base}/api/segments", headers=bearer, timeout=10, json={
            "name": "buyers", "definition": {"event": "Order Completed", "measure": "count", "op": "gte", "value": 1}})
        assert segment.status_code in (200, 201), segment.text
        sent = httpx.post(f"{base}/v1/track", auth=(keys["write_key"], ""), timeout=10, json={
            "userId": "u1", "event": "Order Completed", "properties": {"revenue": 99}})
        assert sent.status_code == 200, sent.text

        def counted() -> bool:
            return httpx.get(f"{base}/api/segments/{segment.json()['id']}", headers=bearer,
                             timeout=10).json()["size"] == 1

        assert _eventually(counted), "the worker started by serve did not evaluate the new event"
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert _eventually(lambda: not _alive(workers[0]), 30), "the worker outlived the killed server"


def test_several_server_processes_share_the_port_on_postgresql_only(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        env = _env(f"sqlite:///{tmp_path / 'serve.db'}", tmp_path)
        refused = subprocess.run([sys.executable, "-m", "siyu", "serve", "--processes", "2"], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "needs PostgreSQL" in refused.stderr + refused.stdout
        return
    env = _env(database_url, tmp_path, resolve="inline")
    created = subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", f"procs{os.getpid()}", "--json"],
                             env=env, capture_output=True, text=True, check=True)
    keys = json.loads(created.stdout)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "siyu", "serve", "--port", str(port), "--processes", "2",
                               "--no-worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _eventually(lambda: _healthy(base)), "the server processes did not come up"
        assert _eventually(lambda: len(_children(server.pid)) >= 2), "uvicorn starts one process per --processes"
        for number in range(20):  # new connections each: the kernel spreads them over the processes
            sent = httpx.post(f"{base}/v1/track", auth=(keys["write_key"], ""), timeout=10, json={
                "userId": f"p{number}", "event": "Order Completed", "messageId": f"procs-{number}"})
            assert sent.status_code == 200, sent.text
        found = httpx.get(f"{base}/api/profiles/lookup", timeout=10, params={"type": "user_id", "value": "p19"},
                          headers={"Authorization": f"Bearer {keys['secret_key']}"})
        assert found.status_code == 200, found.text
    finally:
        server.terminate()
        server.wait(timeout=60)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_burst_of_sigterms_stops_the_worker_without_deadlocking(database_url: str, tmp_path: Path) -> None:
    """Signals come in bursts (the parent-death signal, a supervisor's, an operator's): the handler only
    records them, so a second one arriving inside the first can't wait on a lock its own thread holds."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'worker.db'}"
    env = _env(database_url, tmp_path)
    subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", f"burst{os.getpid()}"], env=env,
                   capture_output=True, check=True)
    worker = subprocess.Popen([sys.executable, "-m", "siyu", "worker"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert "siyu worker running" in (worker.stdout.readline() if worker.stdout else "")
        for _ in range(200):
            worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
