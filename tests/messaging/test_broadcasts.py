"""Broadcasts (群发) on both databases: preview, throttled fan-out that never repeats anyone, the same
policies as any message, test sends, cancelling, and refusals with codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import broadcasts as broadcasts_table
from siyu.db.tables import messages
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging import broadcasts, delivery
from siyu.runtime import Runtime
from tests.messaging.fakes import WebhookSink
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
