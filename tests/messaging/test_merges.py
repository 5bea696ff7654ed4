"""What a profile merge does to the outbox (both databases, through the ingest API): the merged-away
profile's messages become the survivor's; what is still queued is decided for the survivor, except a
second copy of a broadcast or of a journey step the survivor gets anyway, which stops with
``policy.merged``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read
from siyu.db.tables import messages
from siyu.messaging import broadcasts, delivery
from siyu.runtime import Runtime
from tests.journeys.scenario import NOON, entries, live, run
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import webhook_channel


@pytest.fixture
def hook(runtime: Runtime, workspace: Any) -> Iterator[WebhookSink]:
    with webhook_channel(runtime, workspace.id) as sink:
        yield sink


def _identify(client: Any, workspace: Any, **body: Any) -> None:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json=body)
    assert sent.status_code == 200, sent.text


def _owner(client: Any, workspace: Any, kind: str, value: str) -> int:
    found = client.get("/api/profiles/lookup", params={"type": kind, "value": value}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def _outbox(runtime: Runtime, workspace: Any) -> list[dict[str, Any]]:
    with read(runtime.engine) as conn:
        return [dict(r._mapping) for r in conn.execute(select(messages).where(
            messages.c.workspace_id == workspace.id).order_by(messages.c.id))]


def _two_people(client: Any, workspace: Any) -> tuple[int, int]:
    """Lina (known first: the survivor) and an anonymous browser, both in Shanghai."""
    _identify(client, workspace, userId="lina", traits={"city": "上海"})
    _identify(client, workspace, anonymousId="web-1", traits={"city": "上海"})
    return _owner(client, workspace, "user_id", "lina"), _owner(client, workspace, "anonymous_id", "web-1")


def test_queued_messages_follow_the_survivor_and_a_second_broadcast_copy_stops(
        runtime: Runtime, client: Any, workspace: Any, hook: WebhookSink) -> None:
    clock.freeze(NOON)
    lina, browser = _two_people(client, workspace)
    segment = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "上海", "definition": {"trait": "city", "op": "eq", "value": "上海"}}).json()
    created = client.post("/api/broadcasts", headers=workspace.bearer(), json={
        "name": "双11", "segment_id": segment["id"], "channel": "webhook", "purpose": "transactional",
        "content": {"campaign": "1111"}})
    assert created.status_code in (200, 201), created.text
    broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id)
    direct = client.post("/api/messages", headers=workspace.bearer(), json={
        "profile_id": browser, "channel": "webhook", "purpose": "transactional", "content": {"order": "A1"}})
    assert direct.status_code == 202, direct.text
    assert sorted(m["profile_id"] for m in _outbox(runtime, workspace)) == sorted([lina, browser, browser])

    _identify(client, workspace, userId="lina", anonymousId="web-1")  # the browser was lina
    found = _outbox(runtime, workspace)
    assert {m["profile_id"] for m in found} == {lina}
    by_source = sorted((m["source"].split(":")[0], m["status"], m["reason"]) for m in found)
    assert by_source == [("api", "queued", None), ("broadcast", "queued", None),
                         ("broadcast", "stopped", "policy.merged")]
    report = delivery.deliver_due(runtime.engine, workspace_id=workspace.id)
    assert report.sent == 2  # one copy of the broadcast, and the order message, both to lina
    assert sorted(body["profile_id"] for _, body in hook.deliveries) == [lina, lina]
    log = client.get("/api/messages", params={"profile_id": lina}, headers=workspace.bearer()).json()
    assert len(log) == 3  # the survivor's log shows the stopped copy with its reason


def test_a_journey_step_queued_for_an_entry_the_merge_exits_stops(runtime: Runtime, client: Any, workspace: Any,
                                                                   hook: WebhookSink) -> None:
    clock.freeze(NOON)
    lina, browser = _two_people(client, workspace)
    journey = live(client, workspace, {"trigger": {"event": "Product Viewed"}, "steps": [
        {"id": "hi", "send": {"channel": "webhook", "purpose": "transactional", "content": {"hi": 1}}},
        {"id": "later", "wait": "1d"}]})
    for who in ({"userId": "lina"}, {"anonymousId": "web-1"}):
        sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={**who, "event": "Product Viewed"})
        assert sent.status_code == 200, sent.text
    run(runtime, workspace)
    assert sorted(m["profile_id"] for m in _outbox(runtime, workspace)) == sorted([lina, browser])

    _identify(client, workspace, userId="lina", anonymousId="web-1")
    statuses = sorted((m["status"], m["reason"]) for m in _outbox(runtime, workspace))
    assert statuses == [("queued", None), ("stopped", "policy.merged")]
    assert sorted(e["exit_reason"] or "" for e in entries(runtime, workspace, journey["id"])) == ["", "profile.merged"]
    assert delivery.deliver_due(runtime.engine, workspace_id=workspace.id).sent == 1
    assert [body["profile_id"] for _, body in hook.deliveries] == [lina]
