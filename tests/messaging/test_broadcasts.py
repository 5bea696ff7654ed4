"""Broadcasts (群发) on both databases: preview, throttled fan-out that never repeats anyone, the same
policies as any message, test sends, cancelling, and refusals with codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from siyu import clock
from siyu.db.engine import make_engine, read, write
from siyu.db.migrate import upgrade
from siyu.db.tables import broadcasts as broadcasts_table
from siyu.db.tables import messages, segment_members, segments
from siyu.db.types import from_millis, to_millis
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging import broadcast_store, broadcasts, delivery, outbox
from siyu.messaging.models import Channel, Purpose
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_bulk_facts import NOW, populate
from tests.messaging.test_bulk_facts import person as made_person
from tests.messaging.test_delivery import SECRET, configure

NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    sink = WebhookSink(SECRET)
    yield sink
    sink.stop()


def audience(runtime: Runtime, client: Any, workspace: Any, count: int = 30) -> tuple[list[int], int]:
    people = [parse_message({"type": "identify", "userId": f"b{n}", "traits": {"city": "上海"}},
                            received_at=clock.now()) for n in range(count)]
    with write(runtime.engine) as conn:
        result = ingest(conn, workspace.id, people, rules=DEFAULT_RULES)
    segment = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "上海", "definition": {"trait": "city", "op": "eq", "value": "上海"}})
    assert segment.status_code in (200, 201), segment.text
    return sorted(result.profile_ids[m.message_id] for m in people), segment.json()["id"]


def create(client: Any, workspace: Any, segment_id: int, **extra: Any) -> Any:
    return client.post("/api/broadcasts", headers=workspace.bearer(), json={
        "name": "双11预热", "segment_id": segment_id, "channel": "webhook", "content": {"campaign": "1111"}, **extra})


def fan_out(runtime: Runtime, workspace: Any, chunk: int = 7) -> int:
    return broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id, chunk=chunk)


def deliver(runtime: Runtime, workspace: Any) -> delivery.DeliveryReport:
    return delivery.deliver_due(runtime.engine, workspace_id=workspace.id, limit=1000)


def test_preview_then_a_throttled_broadcast_reaches_everyone_once(runtime: Runtime, client: Any, workspace: Any,
                                                                  hook: WebhookSink) -> None:
    configure(runtime, workspace.id, hook_url=hook.url, caps=[])
    clock.freeze(NOON)
    people, segment_id = audience(runtime, client, workspace)
    for person in people[:2]:
        client.put(f"/api/profiles/{person}/consent", headers=workspace.bearer(),
                   json={"channel": "webhook", "purpose": "marketing", "status": "revoked"})
    preview = client.post("/api/broadcasts/preview", headers=workspace.bearer(),
                          json={"segment_id": segment_id, "channel": "webhook"})
    assert preview.status_code == 200, preview.text
    assert preview.json()["audience"] == 30
    assert preview.json()["verdicts"] == {"send": 28, "stop:policy.unsubscribed": 2}

    created = create(client, workspace, segment_id, rate_per_minute=10)
    assert created.status_code == 201, created.text
    broadcast = created.json()
    assert fan_out(runtime, workspace) == 30 and fan_out(runtime, workspace) == 0
    with write(runtime.engine) as conn:  # as if a worker re-ran the whole fan-out: the keys hold
        conn.execute(update(broadcasts_table).where(broadcasts_table.c.id == broadcast["id"]).values(
            status="sending", fanout_after=0, queued=0))
    assert fan_out(runtime, workspace) == 30
    with read(runtime.engine) as conn:
        queued = conn.execute(select(func.count()).select_from(messages).where(
            messages.c.workspace_id == workspace.id, messages.c.source == f"broadcast:{broadcast['id']}")).scalar_one()
    assert queued == 30

    # The policy decided as the broadcast fanned out: the two who unsubscribed are stopped already.
    fanned = client.get(f"/api/broadcasts/{broadcast['id']}", headers=workspace.bearer()).json()
    assert fanned["figures"] == {"queued": 28, "stopped": 2, "stopped:policy.unsubscribed": 2}
    first = deliver(runtime, workspace)  # 10 a minute: one every 6 s; the first one left is due at 12 s
    assert (first.sent, first.stopped) == (0, 0)
    clock.advance(timedelta(minutes=1))
    minute = deliver(runtime, workspace)
    assert (minute.sent, minute.stopped) == (9, 0)  # due at 12, 18, ... 60 s
    clock.advance(timedelta(minutes=5))
    deliver(runtime, workspace)
    shown = client.get(f"/api/broadcasts/{broadcast['id']}", headers=workspace.bearer()).json()
    assert shown["status"] == "done" and shown["queued"] == 30
    assert shown["figures"] == {"sent": 28, "stopped": 2, "stopped:policy.unsubscribed": 2}
    assert sorted(body["profile_id"] for _, body in hook.deliveries) == people[2:]


def test_test_sends_go_now_and_again_each_time(runtime: Runtime, client: Any, workspace: Any,
                                               hook: WebhookSink) -> None:
    configure(runtime, workspace.id, hook_url=hook.url)
    people, segment_id = audience(runtime, client, workspace, 3)
    broadcast = create(client, workspace, segment_id, send_at="2030-01-01T00:00:00Z").json()
    assert broadcast["status"] == "scheduled"
    for _ in range(2):
        sent = client.post(f"/api/broadcasts/{broadcast['id']}/test", headers=workspace.bearer(),
                           json={"profile_ids": [people[0]]})
        assert sent.status_code == 200, sent.text
        deliver(runtime, workspace)
    assert [body["profile_id"] for _, body in hook.deliveries] == [people[0], people[0]]
    assert fan_out(runtime, workspace) == 0  # the real broadcast waits for its time


def test_cancelling_stops_what_has_not_gone(runtime: Runtime, client: Any, workspace: Any, hook: WebhookSink) -> None:
    configure(runtime, workspace.id, hook_url=hook.url, caps=[])
    clock.freeze(NOON)
    _, segment_id = audience(runtime, client, workspace, 12)
    broadcast = create(client, workspace, segment_id, rate_per_minute=6).json()
    fan_out(runtime, workspace)
    clock.advance(timedelta(seconds=25))
    assert deliver(runtime, workspace).sent == 3
    cancelled = client.post(f"/api/broadcasts/{broadcast['id']}/cancel", headers=workspace.bearer())
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["figures"] == {"sent": 3, "stopped": 9, "stopped:broadcast.cancelled": 9}
    clock.advance(timedelta(hours=1))
    assert deliver(runtime, workspace).sent == 0 and len(hook.deliveries) == 3
    again = client.post(f"/api/broadcasts/{broadcast['id']}/cancel", headers=workspace.bearer())
    assert again.status_code == 409 and again.json()["error"]["code"] == "messaging.conflict"


def test_refusals(runtime: Runtime, client: Any, workspace: Any, other_workspace: Any) -> None:
    _, segment_id = audience(runtime, client, workspace, 2)
    assert create(client, workspace, 999999).status_code == 404
    assert create(client, other_workspace, segment_id).status_code == 404  # not their segment
    assert create(client, workspace, segment_id, rate_per_minute=0).status_code == 400
    assert create(client, workspace, segment_id, channel="wecom").json()["error"]["code"] == \
        "messaging.invalid"  # an e-mail's content is no WeCom message
    broadcast = create(client, workspace, segment_id).json()
    too_many = client.post(f"/api/broadcasts/{broadcast['id']}/test", headers=workspace.bearer(),
                           json={"profile_ids": list(range(1, 22))})
    assert too_many.status_code == 400
    hidden = client.get(f"/api/broadcasts/{broadcast['id']}", headers=other_workspace.bearer())
    assert hidden.status_code == 404
    assert client.get("/api/broadcasts", headers=other_workspace.bearer()).json() == []


def segment_of(engine: Engine, workspace_id: int, ids: list[int]) -> int:
    """A segment with exactly these members, stored as a refresh would leave it (a valid definition:
    the worker of another test may refresh it later)."""
    with write(engine) as conn:
        segment_id = conn.execute(segments.insert().values(
            workspace_id=workspace_id, name=f"generated {len(ids)}", status="active", size=len(ids),
            definition={"trait": "cohort", "op": "eq", "value": "generated"}, created_at=NOON,
            updated_at=NOON).returning(segments.c.id)).scalar_one()
        conn.execute(segment_members.insert(), [{"workspace_id": workspace_id, "segment_id": segment_id,
                                                 "profile_id": pid, "entered_at": NOON} for pid in ids])
    return segment_id


def outbox_rows(engine: Engine, broadcast_id: int) -> list[Any]:
    with read(engine) as conn:
        return conn.execute(select(messages).where(messages.c.source == f"broadcast:{broadcast_id}")
                            .order_by(messages.c.profile_id)).all()


def broadcast_row(engine: Engine, broadcast_id: int) -> Any:
    with read(engine) as conn:
        return conn.execute(select(broadcasts_table).where(broadcasts_table.c.id == broadcast_id)).one()


SMS = {"sign_name": "完美日记", "template_code": "SMS_1111", "params": {"name": "亲"}}


def sms_broadcast(runtime: Runtime, workspace: Any, segment_id: int, rate_per_minute: int | None = None) -> int:
    with write(runtime.engine) as conn:
        return broadcasts.create(conn, workspace.id, name="双11", segment_id=segment_id, channel=Channel.SMS,
                                 purpose=Purpose.MARKETING, content=SMS, send_at=None,
                                 rate_per_minute=rate_per_minute, created_by="test", now=clock.now())["id"]


@pytest.mark.parametrize("rate_per_minute", [None, 600])
def test_fanned_out_rows_are_what_the_policy_decides_for_each_person(runtime: Runtime, workspace: Any,
                                                                     rate_per_minute: int | None) -> None:
    """Each person's outbox row — status, reason, detail and due time — is what the per-message
    path (``outbox.decide_now``) decides for them, on people with every kind of fact, in chunks."""
    clock.freeze(NOW)
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {"messaging": {
            "quiet_start": None, "cooldown_minutes": 60 * 24 * 2, "caps": [{"limit": 2, "days": 7}]}})
    ids = populate(runtime, workspace.id, 60, seed=3)
    for sent in ((), (timedelta(days=5), timedelta(days=6)), (timedelta(hours=1),), (timedelta(days=3),)):
        ids.append(made_person(runtime, workspace.id, kinds=("phone",), granted=("sms",),
                          sent=tuple(("sms", "marketing", ago) for ago in sent)))  # sent, capped, cooled down, sent
    broadcast_id = sms_broadcast(runtime, workspace, segment_of(runtime.engine, workspace.id, ids), rate_per_minute)
    assert broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id, chunk=9) == 64
    rows = outbox_rows(runtime.engine, broadcast_id)
    assert [r.profile_id for r in rows] == sorted(ids)
    step = timedelta(minutes=1) / rate_per_minute if rate_per_minute else timedelta(0)
    reasons = set()
    with read(runtime.engine) as conn:
        current = workspace_store.get_workspace(conn, workspace.id)
        for i, row in enumerate(rows):
            verdict, _ = outbox.decide_now(conn, current, row.profile_id, Channel.SMS, Purpose.MARKETING, NOW)
            slot = NOW + step * i
            expected = {"stop": ("stopped", slot), "defer": ("queued", max(slot, verdict.until or slot)),
                        "send": ("queued", slot)}[verdict.action]
            assert (row.status, row.reason, row.detail, row.due_at) == (
                expected[0], verdict.reason, verdict.detail, from_millis(to_millis(expected[1]))), row
            assert row.idempotency_key == f"broadcast:{broadcast_id}:{row.profile_id}"
            assert (row.channel, row.purpose, row.payload, row.attempts) == ("sms", "marketing", SMS, 0)
            reasons.add(verdict.reason)
    assert {None, "policy.unsubscribed", "policy.no_consent", "policy.no_address", "policy.frequency_cap",
            "policy.cooldown"} <= reasons, reasons
    shown = broadcast_row(runtime.engine, broadcast_id)
    assert (shown.status, shown.queued, shown.fanout_after) == ("done", 64, max(ids))
    stop_rest(runtime.engine, workspace.id, broadcast_id)


def stop_rest(engine: Engine, workspace_id: int, broadcast_id: int) -> None:
    """Stop what a test's broadcast left queued, so that a worker another test starts on this
    database has nothing of it to deliver."""
    with write(engine) as conn:
        broadcast_store.cancel(conn, workspace_id, broadcast_id, clock.now())


def webhook_broadcast(engine: Engine, workspace: Any, count: int) -> tuple[list[int], int]:
    """``count`` people (no facts: the webhook reaches everyone) and a broadcast to them."""
    ids = list(range(7_000_001, 7_000_001 + count))
    segment_id = segment_of(engine, workspace.id, ids)
    with write(engine) as conn:
        found = broadcasts.create(conn, workspace.id, name="全员", segment_id=segment_id, channel=Channel.WEBHOOK,
                                  purpose=Purpose.TRANSACTIONAL, content={"n": 1}, send_at=None, rate_per_minute=None,
                                  created_by="test", now=clock.now())
    return ids, found["id"]


def test_a_fan_out_interrupted_mid_way_resumes_without_writing_anyone_twice(runtime: Runtime, workspace: Any,
                                                                            monkeypatch: Any) -> None:
    ids, broadcast_id = webhook_broadcast(runtime.engine, workspace, 50)
    real, calls = broadcast_store.queue_many, []

    def failing_third(conn: Any, *args: Any) -> None:
        calls.append(1)
        real(conn, *args)
        if len(calls) == 3:
            raise RuntimeError("the database went away")

    monkeypatch.setattr(broadcast_store, "queue_many", failing_third)
    with pytest.raises(RuntimeError):
        broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id, chunk=10)
    left = broadcast_row(runtime.engine, broadcast_id)  # two whole chunks and their cursor; the third rolled back
    assert (left.status, left.queued, left.fanout_after) == ("sending", 20, ids[19])
    assert [r.profile_id for r in outbox_rows(runtime.engine, broadcast_id)] == ids[:20]

    monkeypatch.setattr(broadcast_store, "queue_many", real)
    assert broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id, chunk=10) == 30
    assert [r.profile_id for r in outbox_rows(runtime.engine, broadcast_id)] == ids
    done = broadcast_row(runtime.engine, broadcast_id)
    assert (done.status, done.queued, done.fanout_after) == ("done", 50, ids[-1])
    stop_rest(runtime.engine, workspace.id, broadcast_id)


def test_two_fan_outs_of_one_broadcast_at_once_write_each_person_once(runtime: Runtime, workspace: Any) -> None:
    ids, broadcast_id = webhook_broadcast(runtime.engine, workspace, 300)
    counts: list[int] = []
    runs = [threading.Thread(target=lambda: counts.append(
        broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id, chunk=7))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(counts) == 300, counts  # a chunk is counted by the fan-out that wrote it
    assert [r.profile_id for r in outbox_rows(runtime.engine, broadcast_id)] == ids
    assert broadcast_row(runtime.engine, broadcast_id).queued == 300
    stop_rest(runtime.engine, workspace.id, broadcast_id)


def test_cancelling_during_the_fan_out_stops_it(runtime: Runtime, workspace: Any, monkeypatch: Any) -> None:
    _, broadcast_id = webhook_broadcast(runtime.engine, workspace, 40)
    real, calls = broadcast_store.next_members, []

    def cancel_on_second(conn: Any, *args: Any) -> list[int]:
        calls.append(1)
        if len(calls) == 2:  # from another connection, as the console would
            with write(runtime.engine) as other:
                broadcasts.cancel(other, workspace.id, broadcast_id, clock.now())
        return real(conn, *args)

    monkeypatch.setattr(broadcast_store, "next_members", cancel_on_second)
    written = broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id, chunk=10)
    rows = outbox_rows(runtime.engine, broadcast_id)
    # The first chunk may have been written before the cancel (and its rows stopped by it) or not
    # at all; nothing after it was.
    assert written == len(rows) in (0, 10)
    assert all((r.status, r.reason) == ("stopped", "broadcast.cancelled") for r in rows)
    assert broadcast_row(runtime.engine, broadcast_id).status == "cancelled"


FAN_OUT = """
import sys
from siyu.db.engine import make_engine
from siyu.messaging import broadcasts
broadcasts.fan_out_due(make_engine(sys.argv[1]), workspace_id=int(sys.argv[2]), chunk=int(sys.argv[3]))
"""


@pytest.mark.slow
def test_kill_9_mid_fan_out_then_resuming_writes_each_person_once(database_url: str, tmp_path: Path) -> None:
    """A real process fanning out is killed with SIGKILL between (or inside) its transactions:
    whole chunks are left, each with its cursor, and the next fan-out writes exactly the rest."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'fan-out.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    people = 20_000
    try:
        with write(engine) as conn:
            workspace = workspace_store.create_workspace(conn, f"fanout{os.getpid()}-{uuid.uuid4().hex[:6]}")
        ids, broadcast_id = webhook_broadcast(engine, workspace, people)
        process = subprocess.Popen([sys.executable, "-c", FAN_OUT, database_url, str(workspace.id), "50"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while broadcast_row(engine, broadcast_id).queued == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(30)
        left = broadcast_row(engine, broadcast_id)
        assert 0 < left.queued < people, "the fan-out was not caught mid-way"
        written = outbox_rows(engine, broadcast_id)
        assert [r.profile_id for r in written] == ids[:left.queued] and left.fanout_after == ids[left.queued - 1]

        assert broadcasts.fan_out_due(engine, workspace_id=workspace.id, chunk=1000) == people - left.queued
        assert [r.profile_id for r in outbox_rows(engine, broadcast_id)] == ids
        assert broadcast_row(engine, broadcast_id).status == "done"
        stop_rest(engine, workspace.id, broadcast_id)
    finally:
        engine.dispose()
