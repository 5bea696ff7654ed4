"""A journey's send renders its template with the event that entered the person (``event``), however
many steps later it runs; entries no event of the person's started render without one. Both
databases, through the ingest and management APIs, the engine and the delivery worker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.runtime import Runtime
from tests.journeys.scenario import NOON, entries, live, person, queued, run, track
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import deliver as deliver_round
from tests.messaging.test_delivery import webhook_channel

TEMPLATE = {"body": {"sku": "{{ event.properties.sku }}", "name": "{{ event.name }}",
                     "day": "{{ event.timestamp | date('long') }}", "hi": "{{ profile.traits.name | default('你') }}"}}


@pytest.fixture
def hook(runtime: Runtime, workspace: Any) -> Iterator[WebhookSink]:
    with webhook_channel(runtime, workspace.id) as sink:
        yield sink


def _journey(trigger: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": trigger, "entry": {"rule": "every_time"},
            "steps": [{"id": "later", "wait": "2h"}, {"id": "tag", "tag": {"add": ["看过"]}},
                      {"id": "nudge", "send": {"channel": "webhook", "purpose": "transactional",
                                               "template": TEMPLATE}}]}


def test_a_send_two_steps_after_the_trigger_renders_the_triggering_event(runtime: Runtime, client: Any,
                                                                         workspace: Any, hook: WebhookSink) -> None:
    clock.freeze(NOON)
    person(client, workspace, "lina", name="林娜")
    journey = live(client, workspace, _journey({"event": "Product Viewed"}))
    track(client, workspace, "lina", "Product Viewed", sku="LIP-08", price=89)
    run(runtime, workspace)
    [entry] = entries(runtime, workspace, journey["id"])
    assert entry["context"]["event"]["properties"] == {"sku": "LIP-08", "price": 89}
    assert entry["context"]["event"]["message_id"] and entry["context"]["event"]["timestamp"]
    assert queued(runtime, workspace, journey["id"]) == []  # still waiting
    clock.freeze(NOON + timedelta(hours=2))
    run(runtime, workspace)
    [message] = queued(runtime, workspace, journey["id"])
    assert message["payload"]["$event"]["name"] == "Product Viewed"  # kept with the row until it is rendered
    assert deliver_round(runtime, workspace).sent == 1
    [message] = queued(runtime, workspace, journey["id"])
    assert message["payload"] == {"sku": "LIP-08", "name": "Product Viewed", "day": "2026年11月11日", "hi": "林娜"}
    [(_, body)] = hook.deliveries
    assert body["payload"] == message["payload"]  # the channel never sees "$event"


def test_an_api_entry_renders_its_properties_and_a_segment_entry_renders_no_event(
        runtime: Runtime, client: Any, workspace: Any, hook: WebhookSink) -> None:
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")
    journey = live(client, workspace, _journey({"api": True}))
    entered = client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                          json={"profile_id": lina, "idempotency_key": "k1", "properties": {"sku": "API-1"}})
    assert entered.status_code == 201, entered.text
    run(runtime, workspace)
    clock.freeze(NOON + timedelta(hours=2))
    run(runtime, workspace)
    assert deliver_round(runtime, workspace).sent == 1
    [message] = queued(runtime, workspace, journey["id"])
    assert message["payload"] == {"sku": "API-1", "name": "", "day": "2026年11月11日", "hi": "你"}

    segment = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "看过口红", "definition": {"event": "Product Viewed", "did": True}})
    assert segment.status_code == 201, segment.text
    on_segment = live(client, workspace, _journey({"segment": segment.json()["id"], "on": "entered"}), name="分群")
    track(client, workspace, "lina", "Product Viewed", sku="SEG-9")
    from siyu.worker import run_pass

    run_pass(runtime)  # real-time segments write Segment Entered; the journeys read it next pass
    run_pass(runtime)
    [entry] = entries(runtime, workspace, on_segment["id"])
    assert "event" not in entry["context"] and entry["context"]["segment"]["id"] == segment.json()["id"]
    clock.freeze(NOON + timedelta(hours=4))
    run(runtime, workspace)
    assert deliver_round(runtime, workspace).sent == 1
    [message] = queued(runtime, workspace, on_segment["id"])
    assert message["payload"] == {"sku": "", "name": "", "day": "", "hi": "你"}
