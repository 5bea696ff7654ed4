"""Deferred resolution (the default of `siyu serve`): acknowledged once queued, resolved by the worker.

What it promises: a 200 means the message is durably queued and its messageId claimed; the
worker's resolver turns the queue into exactly the events, profiles and merges that inline ingest
would have made; a message the pipeline cannot take is stored without a profile instead of
blocking the queue; and nothing is lost or doubled when the worker is killed mid-batch.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu import clock
from siyu.api.app import create_app
from siyu.config import Config, normalise_database_url
from siyu.db.engine import make_engine, read
from siyu.db.tables import events, ingest_queue, profiles
from siyu.ingest import resolver
from siyu.ingest.resolver import ResolverLoop, resolve_queued
from siyu.profiles.store import load_states
from siyu.runtime import Runtime
from siyu.worker import run_pass
from tests.conftest import make_workspace


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def deferred(rt: Runtime) -> Runtime:
    return Runtime(replace(rt.config, ingest_resolve="deferred"), rt.engine)


def stored(rt: Runtime, workspace_id: int) -> list[Any]:
    with read(rt.engine) as conn:
        return conn.execute(select(events).where(events.c.workspace_id == workspace_id).order_by(events.c.id)).all()


STORY = [
    {"type": "track", "anonymousId": "dev-1", "event": "Product Viewed", "messageId": "s1",
     "properties": {"sku": "LIP-01"}, "context": {"campaign": {"source": "xiaohongshu"}}},
    {"type": "identify", "anonymousId": "dev-1", "messageId": "s2", "traits": {"phone": "13800138001", "name": "李娜"}},
    {"type": "identify", "userId": "m-1", "messageId": "s3", "traits": {"phone": "13800138001", "tier": "gold"}},
    {"type": "track", "userId": "m-1", "event": "Order Completed", "messageId": "s4",
     "properties": {"order_id": "o1", "total": 199.0}},
    {"type": "track", "anonymousId": "dev-2", "event": "Product Viewed", "messageId": "s5"},
    {"type": "alias", "previousId": "dev-2", "userId": "m-1", "messageId": "s6"},
]


def test_a_batch_is_acknowledged_before_it_is_resolved(runtime: Runtime, workspace) -> None:
    with TestClient(create_app(deferred(runtime))) as client:
        assert client.post("/v1/batch", json={"batch": STORY}, headers=basic(workspace.write_key)).json() == {
            "success": True}
        assert stored(runtime, workspace.id) == []
        assert client.get("/api/ingest/status", headers=workspace.bearer()).json() == {"mode": "deferred",
                                                                                      "queued": len(STORY)}
        # the messageIds are claimed at acknowledgement: a retry now is a duplicate, not a second copy
        assert client.post("/v1/batch", json={"batch": STORY}, headers=basic(workspace.write_key)).status_code == 200
        assert resolve_queued(runtime.engine) == len(STORY)
        assert client.get("/api/ingest/status", headers=workspace.bearer()).json()["queued"] == 0
    rows = stored(runtime, workspace.id)
    assert [r.message_id for r in rows] == ["s1", "s2", "s3", "s4", "s5", "s6"]
    assert len({r.profile_id for r in rows}) == 1  # device, phone, member id and the aliased device: one person


def test_deferred_gives_exactly_what_inline_gives(runtime: Runtime) -> None:
    """The same story through both modes, in two workspaces: same events, same people, same profile."""
    clock.freeze(datetime(2026, 6, 18, 10, 0, tzinfo=UTC))
    outcomes = []
    for mode_runtime in (runtime, deferred(runtime)):
        keys = make_workspace(runtime)
        with TestClient(create_app(mode_runtime)) as client:
            for item in STORY:  # one request each, as an SDK flushing often would
                assert client.post("/v1/batch", json={"batch": [item]}, headers=basic(keys.write_key)).status_code \
                    == 200
        resolve_queued(runtime.engine)
        rows = stored(runtime, keys.id)
        people = {r.profile_id for r in rows}
        with read(runtime.engine) as conn:
            [state] = load_states(conn, keys.id, list(people)).values()
        outcomes.append(([(r.message_id, r.name, r.timestamp, r.properties, r.context) for r in rows], len(people),
                         state.traits, state.rollup))
    assert outcomes[0] == outcomes[1]


def test_a_message_the_pipeline_cannot_take_is_kept_without_a_profile(runtime: Runtime, workspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(deferred(runtime))) as client:
        batch = [{"type": "track", "userId": f"u{i}", "event": "Viewed", "messageId": f"p{i}"} for i in range(10)]
        assert client.post("/v1/batch", json={"batch": batch}, headers=basic(workspace.write_key)).status_code == 200
    real = resolver.resolve_and_store

    def poisoned(conn: Any, workspace_id: int, batch: list[Any], **kwargs: Any) -> Any:
        if any(message.message_id == "p6" for message, _ in batch):
            raise ValueError("a message the pipeline cannot take")
        return real(conn, workspace_id, batch, **kwargs)

    monkeypatch.setattr(resolver, "resolve_and_store", poisoned)
    while resolve_queued(runtime.engine):
        pass
    rows = {r.message_id: r for r in stored(runtime, workspace.id)}
    assert sorted(rows) == sorted(f"p{i}" for i in range(10))  # nothing lost, nothing doubled
    assert rows["p6"].profile_id is None and rows["p6"].context["siyu"]["unresolved"] is True
    assert all(rows[f"p{i}"].profile_id is not None for i in range(10) if i != 6)
    with read(runtime.engine) as conn:
        assert conn.execute(select(func.count()).select_from(ingest_queue).where(
            ingest_queue.c.workspace_id == workspace.id)).scalar() == 0


def test_the_worker_pass_resolves_before_anything_reads_the_log(runtime: Runtime, workspace) -> None:
    with TestClient(create_app(deferred(runtime))) as client:
        assert client.post("/v1/track", json={"userId": "w1", "event": "Signed Up", "messageId": "w-1"},
                           headers=basic(workspace.write_key)).status_code == 200
    assert stored(runtime, workspace.id) == []
    result = run_pass(runtime)
    assert result.resolved >= 1
    assert [r.message_id for r in stored(runtime, workspace.id)] == ["w-1"]


def test_real_sdk_against_a_deferred_server_with_the_resolver_thread(runtime: Runtime, workspace) -> None:
    import threading

    import uvicorn
    from segment.analytics import Client

    from tests.conftest import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(deferred(runtime)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    loop = ResolverLoop(runtime.engine, idle=0.01)
    loop.start()
    try:
        while not server.started:
            time.sleep(0.01)
        errors: list[Any] = []
        sdk = Client(write_key=workspace.write_key, host=f"http://127.0.0.1:{port}", sync_mode=True, max_retries=0,
                     on_error=lambda error, batch: errors.append(error))
        sdk.identify("member-7", {"phone": "13800138007"})
        sdk.track("member-7", "Order Completed", {"total": 88.0})
        sdk.flush()
        assert errors == []
        deadline = time.monotonic() + 30
        while len(stored(runtime, workspace.id)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        loop.stop()
        server.should_exit = True
        thread.join(timeout=20)
    rows = stored(runtime, workspace.id)
    assert {r.name for r in rows} == {"identify", "Order Completed"} and len({r.profile_id for r in rows}) == 1


def test_kill_9_of_the_worker_mid_resolution_loses_and_doubles_nothing(own_database_url: str, tmp_path: Path) -> None:
    database_url = own_database_url  # the worker claims across workspaces: no other test's rows
    rt = Runtime.from_config(Config(data_dir=tmp_path, database_url=normalise_database_url(database_url),
                                    ingest_resolve="deferred"), migrate=True)
    keys = make_workspace(rt)
    total = 30_000
    with TestClient(create_app(rt)) as client:
        for start in range(0, total, 500):
            batch = [{"type": "track", "userId": f"u{(start + i) % 3000}", "event": "Viewed",
                      "messageId": f"k{start + i}"} for i in range(500)]
            assert client.post("/v1/batch", json={"batch": batch}, headers=basic(keys.write_key)).status_code == 200
    env = {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(tmp_path),
           "SIYU_LOG_LEVEL": "warning"}

    def queued() -> int:
        with read(rt.engine) as conn:
            return conn.execute(select(func.count()).select_from(ingest_queue)).scalar()

    worker = subprocess.Popen([sys.executable, "-m", "siyu", "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while queued() == total and time.monotonic() < deadline:
            time.sleep(0.005)
        assert queued() < total, "the worker resolved nothing before the kill"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    left = queued()
    subprocess.run([sys.executable, "-m", "siyu", "worker", "--once"], env=env, capture_output=True, check=True,
                   timeout=300)
    engine = make_engine(database_url)
    with read(engine) as conn:
        ids = conn.execute(select(events.c.message_id).where(events.c.workspace_id == keys.id)).scalars().all()
        people = conn.execute(select(func.count()).select_from(profiles).where(
            profiles.c.workspace_id == keys.id)).scalar()
    engine.dispose()
    rt.engine.dispose()
    assert 0 < left < total, "the kill did not land mid-queue"
    assert len(ids) == total and len(set(ids)) == total
    assert people == 3000
    assert queued_after(database_url) == 0


def queued_after(database_url: str) -> int:
    engine = make_engine(database_url)
    with read(engine) as conn:
        count = conn.execute(select(func.count()).select_from(ingest_queue)).scalar()
    engine.dispose()
    return count


def test_the_status_endpoint_needs_a_key(client) -> None:
    assert client.get("/api/ingest/status").status_code == 401
