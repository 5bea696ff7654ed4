"""Nothing acknowledged is lost, nothing is stored twice: kill -9 the real server mid-ingest.

A client fires batches at a `siyu serve` subprocess, the server is killed with SIGKILL while
requests are in flight, restarted, and the client retries every batch (the acknowledged ones too,
as a client that never saw its 200 would). Every acknowledged messageId must be stored exactly
once, and no messageId twice.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from siyu.db.engine import make_engine, read
from siyu.db.tables import events
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _env(database_url: str, data_dir: Path, resolve: str = "deferred") -> dict[str, str]:
    return {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(data_dir),
            "SIYU_LOG_LEVEL": "warning", "SIYU_INGEST_RESOLVE": resolve}


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "siyu", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("siyu serve did not become healthy")


def _batch(number: int) -> dict[str, object]:
    return {"batch": [{"type": "track", "event": "Product Viewed", "userId": f"u{(number * 7 + i) % 300}",
                       "messageId": f"b{number}-m{i}", "properties": {"n": number}} for i in range(20)]}


@pytest.mark.parametrize("resolve", ["deferred", "inline"])
def test_kill_9_mid_ingest_loses_no_acknowledged_event(database_url: str, tmp_path: Path, resolve: str) -> None:
    """Both modes: acknowledged after resolution (inline) and after the queue append (deferred, where
    the worker that `siyu serve` started dies with the server and its successor resolves the rest)."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    env = _env(database_url, tmp_path, resolve)
    created = subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", f"crash{os.getpid()}{resolve}",
                              "--json"], env=env, capture_output=True, text=True, check=True)
    workspace = json.loads(created.stdout)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{workspace['write_key']}:".encode()).decode()}
    port = free_port()
    server = _start(env, port)

    acknowledged: set[int] = set()
    stop = threading.Event()
    batches = 400

    def fire(offset: int) -> None:
        with httpx.Client(timeout=5) as client:
            for number in range(offset, batches, 4):
                if stop.is_set():
                    return
                try:
                    response = client.post(f"http://127.0.0.1:{port}/v1/batch", json=_batch(number), headers=auth)
                except httpx.HTTPError:
                    continue
                if response.status_code == 200:
                    acknowledged.add(number)

    senders = [threading.Thread(target=fire, args=(i,)) for i in range(4)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=30)
    stop.set()
    for sender in senders:
        sender.join(timeout=30)
    assert len(acknowledged) >= 40, "the server acknowledged too little before the kill to test anything"
    killed_with = set(acknowledged)

    server = _start(env, port)
    try:
        with httpx.Client(timeout=30) as client:
            for number in range(batches):  # the client retries everything, acknowledged or not
                assert client.post(f"http://127.0.0.1:{port}/v1/batch", json=_batch(number),
                                   headers=auth).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Whatever the worker had not resolved yet when the server stopped (deferred): one more pass.
    subprocess.run([sys.executable, "-m", "siyu", "worker", "--once"], env=env, capture_output=True, check=True,
                   timeout=120)

    engine = make_engine(database_url)
    with read(engine) as conn:
        stored = Counter(conn.execute(select(events.c.message_id).where(
            events.c.workspace_id == workspace["workspace_id"])).scalars())
    engine.dispose()
    assert all(f"b{n}-m{i}" in stored for n in killed_with for i in range(20))
    assert max(stored.values()) == 1
    assert len(stored) == batches * 20
