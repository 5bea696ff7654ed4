"""The tracking fast path answers exactly as the routes would: the same acknowledgement, the same
refusals with the same codes, messages and headers (a missing or unknown write key, a body that is
not JSON or not gzip, a message or batch past Segment's limits, a NUL, an invalid phone), and the
same events stored. A body it will not read whole it hands on to the route unchanged."""

from __future__ import annotations

import base64
import gzip
from dataclasses import replace
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from siyu.db.engine import read
from siyu.db.tables import events
from siyu.ingest.api import router
from siyu.ingest.fast_path import IngestFastPath
from siyu.ingest.resolver import resolve_queued
from siyu.ingest.writer import stop_writer
from siyu.runtime import Runtime
from tests.routes_only import routes_only as only_the_routes


@pytest.fixture(params=["inline", "deferred"])
def deployed(request: pytest.FixtureRequest, runtime: Runtime) -> Runtime:
    if request.param == "inline":
        return runtime
    return Runtime(replace(runtime.config, ingest_resolve="deferred"), runtime.engine)


@pytest.fixture
def fast(deployed: Runtime) -> Any:
    from fastapi.testclient import TestClient

    from siyu.api.app import create_app

    with TestClient(create_app(deployed)) as client:
        yield client


@pytest.fixture
def routes(deployed: Runtime) -> Any:
    with only_the_routes(deployed, router, stop_writer) as plain:
        yield plain


def _basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _cases(write_key: str, run: str) -> list[tuple[str, dict[str, str], bytes]]:
    """(path, headers, body) of each request, acknowledged and refused."""
    auth = {**_basic(write_key), "content-type": "application/json"}

    def body(value: Any) -> bytes:
        return orjson.dumps(value)

    track = {"type": "track", "event": "Product Viewed", "userId": f"{run}-u1", "messageId": f"{run}-m1",
             "properties": {"sku": "LIP-01"}, "timestamp": "2026-06-18T10:00:00Z"}
    return [
        ("/v1/batch", auth, body({"batch": [track, {**track, "messageId": f"{run}-m2", "event": "Product Added"}],
                                  "context": {"ip": "10.0.0.1"}})),
        ("/v1/batch", auth, body({"batch": [track]})),  # the same messageId again: acknowledged, stored once
        ("/v1/track", auth, body({**track, "messageId": f"{run}-m3"})),
        ("/v1/identify", auth, body({"userId": f"{run}-u1", "messageId": f"{run}-m4",
                                     "traits": {"phone": "13800138000", "name": "李娜"}})),
        ("/v1/identify", {**auth, "content-encoding": "gzip"},
         gzip.compress(body({"userId": f"{run}-u2", "messageId": f"{run}-m5", "traits": {"email": "A@B.cn"}}))),
        ("/v1/track", {"content-type": "application/json"},  # the write key in the body
         body({**track, "messageId": f"{run}-m6", "writeKey": write_key})),
        ("/v1/track", {"content-type": "application/json"}, body({**track, "messageId": f"{run}-m7"})),  # no key
        ("/v1/track", {**_basic("wk_nope"), "content-type": "application/json"}, body(track)),  # unknown key
        ("/v1/batch", auth, b"{not json"),
        ("/v1/batch", {**auth, "content-encoding": "gzip"}, b"not gzip"),
        ("/v1/batch", {**auth, "content-encoding": "br"}, body({"batch": [track]})),
        ("/v1/batch", auth, body({"batch": []})),
        ("/v1/batch", auth, body({"batch": [{**track, "properties": {"x": "y" * 40_000}}]})),  # a message > 32 KB
        ("/v1/batch", auth, body({"batch": [{**track, "messageId": f"{run}-b{i}", "properties": {"x": "y" * 20_000}}
                                            for i in range(30)]})),  # a batch > 500 KB: read past the limit
        ("/v1/track", auth, body({**track, "userId": "a\u0000b"})),
        ("/v1/identify", auth, body({"userId": f"{run}-u3", "traits": {"phone": "12"}})),  # not a phone number
        ("/v1/batch", auth, body({"batch": [track, {"type": "track", "userId": "x"}]})),  # the second has no event
    ]


def _answer(response: Any, run: str) -> tuple:
    headers = {k: response.headers.get(k) for k in ("content-type", "www-authenticate", "retry-after")}
    return response.status_code, response.text.replace(run, "R"), headers


def _stored(runtime: Runtime, workspace_id: int, run: str) -> list[tuple]:
    with read(runtime.engine) as conn:
        rows = conn.execute(select(events).where(events.c.workspace_id == workspace_id,
                                                 events.c.message_id.like(f"{run}-%")).order_by(events.c.id)).all()
    return [(r.type, r.name, r.message_id.replace(run, "R"), r.user_id and r.user_id.replace(run, "R"),
             r.properties, r.profile_id is not None) for r in rows]


def test_both_paths_give_the_same_answers_and_store_the_same_events(deployed: Runtime, fast: Any, routes: Any,
                                                                    workspace: Any) -> None:
    answers, stored = {}, {}
    for run, http in (("fast", fast), ("slow", routes)):  # names of one length: sizes are compared too
        answers[run] = [_answer(http.post(path, headers=headers, content=body), run)
                        for path, headers, body in _cases(workspace.write_key, run)]
        resolve_queued(deployed.engine)
        stored[run] = _stored(deployed, workspace.id, run)
    assert answers["fast"] == answers["slow"]
    assert [a[0] for a in answers["fast"]] == [200] * 6 + [401, 401, 400, 400, 415, 400, 400, 400, 400, 400, 400]
    assert answers["fast"][6][2]["www-authenticate"] == 'Basic realm="siyu"'
    assert stored["fast"] == stored["slow"]
    assert [s[2] for s in stored["fast"]] == ["R-m1", "R-m2", "R-m3", "R-m4", "R-m5", "R-m6"]


def test_what_it_does_not_take_goes_to_the_route(fast: Any, workspace: Any) -> None:
    auth = {**_basic(workspace.write_key), "content-type": "application/json"}
    track = {"type": "track", "event": "Viewed", "userId": "u", "messageId": "q1"}
    assert fast.post("/v1/track?x=1", headers=auth, content=orjson.dumps(track)).status_code == 200  # the route
    assert fast.get("/v1/track", headers=auth).status_code == 405  # not a POST: the application answers
    streamed = fast.post("/v1/batch", headers=auth, content=iter([b'{"batch": [', orjson.dumps(track), b"]}"]))
    assert streamed.status_code == 200  # a body in several chunks is read whole


def test_the_fast_path_sits_behind_the_other_two(runtime: Runtime) -> None:
    from siyu.api.app import create_app

    kinds = [m.cls for m in create_app(runtime).user_middleware]
    assert kinds.index(IngestFastPath) == 2


def test_it_answers_by_itself_and_hands_on_only_what_it_does_not_read_whole(deployed: Runtime,
                                                                             workspace: Any) -> None:
    """In front of an application that answers 599 to everything: what the fast path takes never reaches it."""
    from fastapi.testclient import TestClient

    async def behind(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 599, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    auth = {**_basic(workspace.write_key), "content-type": "application/json"}
    track = {"type": "track", "event": "Viewed", "userId": "u", "messageId": "h1"}
    client = TestClient(IngestFastPath(behind, deployed))  # no lifespan: the stand-in has none
    try:
        assert client.post("/v1/track", headers=auth, content=orjson.dumps(track)).status_code == 200
        assert client.post("/v1/batch", headers=auth, content=b"[").status_code == 400
        assert client.post("/v1/batch", headers=auth, content=b" " * 600_000).status_code == 599
        assert client.post("/v1/track?x=1", headers=auth, content=orjson.dumps(track)).status_code == 599
        assert client.post("/api/profiles", headers=auth, content=b"{}").status_code == 599
    finally:
        stop_writer(deployed)
