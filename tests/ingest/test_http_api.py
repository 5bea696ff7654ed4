"""The Segment-compatible tracking API over HTTP, against the real app and database."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read
from siyu.db.tables import events, identities
from siyu.ingest.resolver import resolve_queued
from siyu.runtime import Runtime
from tests.api.test_error_shape import assert_envelope

NOW = datetime(2026, 6, 18, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["inline", "deferred"])
def app(request: pytest.FixtureRequest, runtime: Runtime):  # noqa: ANN201
    """Every test here runs against both ways of acknowledging (siyu.ingest.queue)."""
    from siyu.api.app import create_app

    if request.param == "inline":
        return create_app(runtime)
    return create_app(Runtime(replace(runtime.config, ingest_resolve="deferred"), runtime.engine))


class _ResolvingClient:
    """The test client, with the worker's resolver run after each request (deferred mode): what a
    client sees once the worker has caught up, which is what these tests specify."""

    def __init__(self, client: Any, runtime: Runtime) -> None:
        self._client, self._runtime = client, runtime

    def post(self, *args: Any, **kwargs: Any) -> Any:
        response = self._client.post(*args, **kwargs)
        resolve_queued(self._runtime.engine)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def client(app, runtime: Runtime):  # noqa: ANN001, ANN201
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield _ResolvingClient(test_client, runtime)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def stored(rt: Runtime, workspace_id: int) -> list[Any]:
    with read(rt.engine) as conn:
        return conn.execute(select(events).where(events.c.workspace_id == workspace_id).order_by(events.c.id)).all()


@pytest.mark.parametrize(("kind", "body", "name"), [
    ("track", {"event": "Product Viewed", "properties": {"sku": "LIP-01"}}, "Product Viewed"),
    ("identify", {"traits": {"name": "李娜"}}, "identify"),
    ("page", {"name": "Home", "properties": {"url": "https://brand.cn/"}}, "page"),
    ("screen", {"name": "Cart"}, "screen"),
    ("group", {"groupId": "store-sh-01", "traits": {"city": "上海"}}, "group"),
    ("alias", {"previousId": "anon-1"}, "alias"),
])
def test_each_call_type_lands_in_the_event_log(client, runtime: Runtime, workspace, kind: str,
                                               body: dict[str, Any], name: str) -> None:
    clock.freeze(NOW)
    response = client.post(f"/v1/{kind}", json={"userId": "u1", "messageId": f"m-{kind}", **body},
                           headers=basic(workspace.write_key))
    assert response.status_code == 200 and response.json() == {"success": True}
    [row] = stored(runtime, workspace.id)
    assert (row.type, row.name, row.message_id, row.source) == (kind, name, f"m-{kind}", "http")
    assert row.received_at == NOW and row.timestamp == NOW
    assert row.profile_id is not None


def test_batch_with_shared_context_and_sent_at_correction(client, runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    device_now = NOW + timedelta(minutes=10)  # the phone's clock is 10 minutes fast
    body = {"batch": [
        {"type": "track", "event": "Product Added", "anonymousId": "a", "messageId": "b1",
         "timestamp": (device_now - timedelta(seconds=30)).isoformat()},
        {"type": "identify", "anonymousId": "a", "messageId": "b2", "traits": {"phone": "13800138001"}},
    ], "context": {"campaign": {"source": "xiaohongshu"}}, "sentAt": device_now.isoformat()}
    assert client.post("/v1/batch", json=body, headers=basic(workspace.write_key)).status_code == 200
    first, second = stored(runtime, workspace.id)
    assert first.timestamp == NOW - timedelta(seconds=30)
    assert first.context["campaign"] == {"source": "xiaohongshu"}
    assert first.profile_id == second.profile_id


def test_write_key_in_the_body_and_gzip(client, runtime: Runtime, workspace) -> None:
    body = gzip.compress(orjson.dumps({"writeKey": workspace.write_key, "batch": [
        {"type": "track", "event": "Order Completed", "userId": "u", "properties": {"total": 10}}]}))
    response = client.post("/v1/batch", content=body, headers={"Content-Encoding": "gzip",
                                                              "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert [r.name for r in stored(runtime, workspace.id)] == ["Order Completed"]


def test_duplicates_within_and_across_requests_are_stored_once(client, runtime: Runtime, workspace) -> None:
    message = {"type": "track", "event": "Followed", "userId": "u", "messageId": "dup"}
    for _ in range(2):
        client.post("/v1/batch", json={"batch": [message, message]}, headers=basic(workspace.write_key))
    assert len(stored(runtime, workspace.id)) == 1


def test_context_traits_and_top_level_traits_both_reach_the_profile(client, runtime: Runtime, workspace) -> None:
    client.post("/v1/identify", json={"userId": "u", "traits": {"email": "Li@Brand.cn"}},
                headers=basic(workspace.write_key))
    client.post("/v1/track", json={"userId": "u", "event": "Viewed", "context": {"traits": {"phone": "13800138002"}}},
                headers=basic(workspace.write_key))
    with read(runtime.engine) as conn:
        found = set(conn.execute(select(identities.c.type, identities.c.value).where(
            identities.c.workspace_id == workspace.id)).all())
    assert found == {("user_id", "u"), ("email", "li@brand.cn"), ("phone", "+8613800138002")}


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    (b"{not json", {}, 400, "ingest.malformed_json"),
    (b"[1, 2]", {}, 400, "ingest.malformed_json"),
    (orjson.dumps({"batch": []}), {}, 400, "ingest.invalid"),
    (orjson.dumps({"batch": [{"type": "track", "event": "x"}]}), {}, 400, "ingest.missing_identity"),
    (orjson.dumps({"batch": [{"type": "fly", "userId": "u"}]}), {}, 400, "ingest.invalid"),
    (orjson.dumps({"batch": [{"type": "track", "userId": "u"}]}), {}, 400, "ingest.invalid"),
    (orjson.dumps({"batch": [{"type": "track", "userId": {"a": 1}, "event": "x"}]}), {}, 400, "ingest.invalid"),
    (orjson.dumps({"batch": [{"type": "identify", "userId": "u", "traits": {"phone": "12345"}}]}), {}, 400,
     "identity.invalid_phone"),
    (orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": "x", "timestamp": "yesterday"}]}), {}, 400,
     "ingest.invalid"),
    (b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"}, 400, "ingest.bad_encoding"),
])
def test_bad_input_is_refused_with_a_code_and_nothing_is_stored(client, runtime: Runtime, workspace, body: bytes,
                                                                headers: dict[str, str], status: int,
                                                                code: str) -> None:
    response = client.post("/v1/batch", content=body, headers={**basic(workspace.write_key), **headers,
                                                              "Content-Type": "application/json"})
    assert assert_envelope(response, status)["code"] == code
    assert stored(runtime, workspace.id) == []


def test_a_batch_is_all_or_nothing(client, runtime: Runtime, workspace) -> None:
    body = {"batch": [{"type": "track", "userId": "u", "event": "ok"},
                      {"type": "identify", "userId": "u", "traits": {"phone": "not a phone"}}]}
    response = client.post("/v1/batch", json=body, headers=basic(workspace.write_key))
    error = assert_envelope(response, 400)
    assert error["details"]["index"] == 1 and error["message"].startswith("batch[1]")
    assert stored(runtime, workspace.id) == []


def test_size_limits_follow_segment(client, runtime: Runtime, workspace) -> None:
    big = "x" * (33 * 1024)
    one = client.post("/v1/track", json={"userId": "u", "event": "x", "properties": {"blob": big}},
                      headers=basic(workspace.write_key))
    assert assert_envelope(one, 400)["code"] == "ingest.message_too_large"
    in_batch = client.post("/v1/batch", json={"batch": [{"type": "track", "userId": "u", "event": "x",
                                                          "properties": {"blob": big}}]},
                           headers=basic(workspace.write_key))
    assert assert_envelope(in_batch, 400)["code"] == "ingest.message_too_large"
    many = [{"type": "track", "userId": "u", "event": "x", "properties": {"blob": "y" * 20000}}] * 30
    batch = client.post("/v1/batch", json={"batch": many}, headers=basic(workspace.write_key))
    assert assert_envelope(batch, 400)["code"] == "ingest.batch_too_large"
    bomb = gzip.compress(b'{"batch": [' + b" " * (10 * 1024 * 1024) + b"]}")
    assert len(bomb) < 20000
    exploded = client.post("/v1/batch", content=bomb, headers={**basic(workspace.write_key),
                                                              "Content-Encoding": "gzip"})
    assert assert_envelope(exploded, 400)["code"] == "ingest.batch_too_large"
    assert stored(runtime, workspace.id) == []


def test_unknown_or_missing_write_key_is_401(client, workspace) -> None:
    body = {"userId": "u", "event": "x"}
    assert assert_envelope(client.post("/v1/track", json=body, headers=basic("wk_nope")), 401)["code"] == (
        "auth.invalid_write_key")
    assert assert_envelope(client.post("/v1/track", json=body), 401)["code"] == "auth.missing_write_key"
    secret = client.post("/v1/track", json=body, headers=basic(workspace.secret_key))
    assert assert_envelope(secret, 401)["code"] == "auth.invalid_write_key"


def test_a_write_key_only_writes_into_its_own_workspace(client, runtime: Runtime, workspace,
                                                        other_workspace) -> None:
    client.post("/v1/track", json={"userId": "u", "event": "x"}, headers=basic(workspace.write_key))
    assert len(stored(runtime, workspace.id)) == 1
    assert stored(runtime, other_workspace.id) == []


def test_a_batch_context_is_merged_into_each_message_context(client, runtime: Runtime, workspace) -> None:
    """Segment: the batch's context "will be merged with any context inside each of the items"."""
    body = {"batch": [
        {"type": "track", "event": "Viewed", "userId": "u", "messageId": "own",
         "context": {"library": {"name": "analytics-python"}, "campaign": {"source": "wechat"}}},
        {"type": "track", "event": "Viewed", "userId": "u", "messageId": "none"},
    ], "context": {"device": {"type": "phone"}, "campaign": {"source": "douyin", "medium": "live"}}}
    assert client.post("/v1/batch", json=body, headers=basic(workspace.write_key)).status_code == 200
    own, none = stored(runtime, workspace.id)
    assert own.context == {"library": {"name": "analytics-python"}, "device": {"type": "phone"},
                           "campaign": {"source": "wechat", "medium": "live"}}
    assert none.context == {"device": {"type": "phone"}, "campaign": {"source": "douyin", "medium": "live"}}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/track", {"userId": "u", "event": "x", "properties": _nested(300)}),
    ("/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "x", "properties": _nested(300)}]}),
    ("/v1/batch", {"batch": [{"type": "track", "userId": "u", "event": "x"}], "context": _nested(300)}),
])
def test_nesting_too_deep_to_store_is_refused(client, runtime: Runtime, workspace, path: str,
                                              body: dict[str, Any]) -> None:
    """orjson reads 1,024 levels but writes only 254: deeper would pass validation, then fail to store (500)."""
    response = client.post(path, content=_deep_json(body), headers={**basic(workspace.write_key),
                                                                    "Content-Type": "application/json"})
    assert assert_envelope(response, 400)["code"] == "ingest.too_deeply_nested"
    assert stored(runtime, workspace.id) == []


def _deep_json(value: Any) -> bytes:
    return json.dumps(value).encode()  # orjson cannot write what these tests send


def test_nesting_within_the_limit_is_stored(client, runtime: Runtime, workspace) -> None:
    response = client.post("/v1/track", content=_deep_json({"userId": "u", "event": "x", "properties": _nested(200)}),
                           headers={**basic(workspace.write_key), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    [row] = stored(runtime, workspace.id)
    assert row.properties == _nested(200)


def test_errors_carry_segments_top_level_code_and_message(client, workspace) -> None:
    """Both SDKs read ``code`` and ``message`` at the top level; the RudderStack SDK retries without them."""
    refused = client.post("/v1/track", json={"userId": "u"}, headers=basic(workspace.write_key))
    unknown = client.post("/v1/track", json={"userId": "u", "event": "x"}, headers=basic("wk_nope"))
    for response, status in ((refused, 400), (unknown, 401)):
        body = response.json()
        assert response.status_code == status
        assert (body["code"], body["message"]) == (body["error"]["code"], body["error"]["message"])
    assert unknown.headers["www-authenticate"].startswith("Basic")


def test_a_database_failure_is_a_retryable_503_and_the_writer_carries_on(client, runtime: Runtime, workspace,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from siyu.ingest import writer

    failures = iter(range(2))  # the group attempt, then the request's own attempt

    def flaky(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if next(failures, None) is not None:
                raise OperationalError("INSERT …", {}, Exception("database is locked"))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(writer, "ingest", flaky(writer.ingest))  # inline
    monkeypatch.setattr(writer, "claim", flaky(writer.claim))  # deferred
    message = {"userId": "u", "event": "x", "messageId": "retry-me"}
    failed = client.post("/v1/track", json=message, headers=basic(workspace.write_key))
    assert failed.status_code == 503 and failed.headers["retry-after"] == "1"
    assert failed.json()["error"]["code"] == failed.json()["code"] == "ingest.unavailable"
    assert stored(runtime, workspace.id) == []
    retried = client.post("/v1/track", json=message, headers=basic(workspace.write_key))
    assert retried.status_code == 200
    assert [r.message_id for r in stored(runtime, workspace.id)] == ["retry-me"]


def test_openapi_declares_the_write_key_scheme(client) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["writeKey"]["scheme"] == "basic"
    for path in ("/v1/track", "/v1/batch"):
        assert document["paths"][path]["post"]["security"] == [{"writeKey": []}]
