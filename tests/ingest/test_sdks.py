"""The official Segment and RudderStack Python SDKs, pointed at siyu, deliver calls unchanged."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from sqlalchemy import select

from siyu.db.engine import read
from siyu.db.tables import events, identities
from siyu.profiles.store import load_states
from siyu.runtime import Runtime


def _events(rt: Runtime, workspace_id: int) -> dict[str, Any]:
    with read(rt.engine) as conn:
        rows = conn.execute(select(events).where(events.c.workspace_id == workspace_id)).all()
    return {r.name: r for r in rows}


def _client(sdk: str, write_key: str, host: str) -> Any:
    errors: list[Any] = []
    if sdk == "segment":
        from segment.analytics import Client
    else:
        from rudderstack.analytics import Client
    client = Client(write_key=write_key, host=host, sync_mode=True, max_retries=0,
                    on_error=lambda error, batch: errors.append(error))
    client.errors = errors
    return client


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_sdk_track_and_identify_arrive_unchanged(sdk: str, live_server: str, runtime: Runtime, workspace) -> None:
    client = _client(sdk, workspace.write_key, live_server)
    client.identify("member-42", {"phone": "13800138042", "name": "王芳", "vip": True},
                    context={"campaign": {"source": "tmall_card"}})
    client.track("member-42", "Order Completed", {"order_id": "T1001", "total": 259.0,
                                                  "products": [{"sku": "LIP-01", "quantity": 2}]})
    client.flush()
    assert client.errors == []
    stored = _events(runtime, workspace.id)
    assert set(stored) == {"identify", "Order Completed"}
    order = stored["Order Completed"]
    assert order.user_id == "member-42" and order.type == "track"
    assert order.properties == {"order_id": "T1001", "total": 259.0, "products": [{"sku": "LIP-01", "quantity": 2}]}
    sent_traits = {"phone": "13800138042", "name": "王芳", "vip": True}
    identify = stored["identify"]
    # Segment's SDK sends identify traits at the top level, RudderStack's in context.traits: both are kept as sent.
    assert (identify.traits if sdk == "segment" else identify.context["traits"]) == sent_traits
    with read(runtime.engine) as conn:
        profile = load_states(conn, workspace.id, [order.profile_id])[order.profile_id]
    assert profile.traits == {**sent_traits, "phone": "+8613800138042"}
    assert profile.rollup.first_channel == "tmall_card"
    assert order.profile_id == stored["identify"].profile_id
    assert order.message_id  # the SDK's own messageId is kept
    with read(runtime.engine) as conn:
        phone_owner = conn.execute(select(identities.c.profile_id).where(
            identities.c.workspace_id == workspace.id, identities.c.type == "phone",
            identities.c.value == "+8613800138042")).scalar_one()
    assert phone_owner == order.profile_id


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_sdk_with_an_unknown_key_gets_an_error_and_nothing_is_stored(sdk: str, live_server: str, runtime: Runtime,
                                                                     workspace) -> None:
    client = _client(sdk, "wk_not_a_key", live_server)
    try:  # in sync mode the SDKs raise the API error instead of calling on_error
        client.track("u", "Product Viewed", {})
        client.flush()
    except Exception as error:  # noqa: BLE001 - the SDK's own APIError
        client.errors.append(error)
    [error] = client.errors
    assert type(error).__name__ == "APIError", error  # not a KeyError: the SDK understood the answer
    assert (error.status, error.code) == (401, "auth.invalid_write_key")
    assert _events(runtime, workspace.id) == {}


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_sdk_drops_a_refused_batch_without_retrying(sdk: str, live_server: str, runtime: Runtime, workspace,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A 400 means the batch can never succeed: the SDK must drop it, not hold its queue for retries."""
    consumer = importlib.import_module("segment.analytics.consumer" if sdk == "segment"
                                       else "rudderstack.analytics.consumer")
    attempts: list[object] = []
    post = consumer.post

    def counted(*args: Any, **kwargs: Any) -> Any:
        attempts.append(kwargs.get("batch"))
        return post(*args, **kwargs)

    monkeypatch.setattr(consumer, "post", counted)
    errors: list[Any] = []
    module = importlib.import_module("segment.analytics" if sdk == "segment" else "rudderstack.analytics")
    client = module.Client(write_key=workspace.write_key, host=live_server, max_retries=3,
                           on_error=lambda error, batch: errors.append(error))
    try:
        client.identify("member-7", {"phone": "12345"})  # not a phone number: refused with 400
        client.flush()
    finally:
        client.shutdown()
    assert len(attempts) == 1
    [error] = errors
    assert (type(error).__name__, error.status, error.code) == ("APIError", 400, "identity.invalid_phone")
    assert _events(runtime, workspace.id) == {}
