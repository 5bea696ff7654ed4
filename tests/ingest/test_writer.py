"""The group-commit writer's own duties: pruning dedupe keys in bounded steps, and never dying."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import event_dedupe, events
from siyu.ingest import writer
from siyu.ingest.pipeline import IngestResult
from siyu.ingest.store import claim_message_ids
from siyu.runtime import Runtime

NOW = datetime(2026, 6, 18, 10, 0, tzinfo=UTC)


def keys_of(rt: Runtime, workspace_id: int) -> set[str]:
    with read(rt.engine) as conn:
        return set(conn.execute(select(event_dedupe.c.message_id).where(
            event_dedupe.c.workspace_id == workspace_id)).scalars())


def test_expired_keys_are_pruned_in_bounded_steps_across_workspaces(runtime: Runtime, workspace,
                                                                    other_workspace) -> None:
    past, future = clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=1)
    with write(runtime.engine) as conn:
        claim_message_ids(conn, workspace.id, [f"old-{i}" for i in range(7)], past)
        claim_message_ids(conn, workspace.id, ["new-1", "new-2"], future)
        claim_message_ids(conn, workspace.id, ["imported"], past, forever=[True])
        claim_message_ids(conn, other_workspace.id, [f"old-{i}" for i in range(4)], past)
    pruner = writer.DedupePruner(runtime.engine, every=0, step_size=3)
    pruner.saw([workspace.id, other_workspace.id])
    steps = [pruner.step() for _ in range(8)]
    assert max(steps) == 3 and sum(steps) == 11
    assert keys_of(runtime, workspace.id) == {"new-1", "new-2", "imported"}
    assert keys_of(runtime, other_workspace.id) == set()


def test_a_pruning_round_waits_for_its_interval(runtime: Runtime, workspace) -> None:
    with write(runtime.engine) as conn:
        claim_message_ids(conn, workspace.id, ["old"], clock.now() - timedelta(hours=1))
    pruner = writer.DedupePruner(runtime.engine, every=3600)
    pruner.saw([workspace.id])
    assert pruner.step() == 0 and pruner.seconds_until_due() > 3500
    assert keys_of(runtime, workspace.id) == {"old"}


def test_the_writer_prunes_while_idle_and_an_expired_id_is_accepted_again(client, runtime: Runtime, workspace,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    writer.stop_writer(runtime)  # the next request starts a writer with the short interval below
    monkeypatch.setattr(writer, "PRUNE_EVERY_SECONDS", 0.05)
    clock.freeze(NOW)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{workspace.write_key}:".encode()).decode()}
    message = {"userId": "u", "event": "Viewed", "messageId": "weekly-report"}
    assert client.post("/v1/track", json=message, headers=auth).status_code == 200
    clock.advance(timedelta(hours=runtime.config.dedupe_window_hours + 1))
    deadline = time.monotonic() + 10
    while keys_of(runtime, workspace.id) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert keys_of(runtime, workspace.id) == set(), "the idle writer should have pruned the expired key"
    assert client.post("/v1/track", json=message, headers=auth).status_code == 200
    with read(runtime.engine) as conn:
        count = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id)).scalar_one()
    assert count == 2


def test_a_result_for_a_closed_event_loop_does_not_kill_the_writer() -> None:
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    loop.close()
    job = writer._Job(workspace_id=1, messages=[], identifiers=[], future=future, loop=loop)
    writer._resolve(job, IngestResult())  # must not raise in the writer thread
    writer._fail(job, RuntimeError("x"))
