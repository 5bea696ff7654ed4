"""Every management and ingest route answers bad requests with one error envelope.

Walks the OpenAPI document, so routes added later are covered without editing this file
(datasette's test_error_shape.py, generalised).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

PUBLIC = {"/api/health"}


def assert_envelope(response: Any, status: int | None = None) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    body = response.json()
    if response.request.url.path.startswith("/v1/"):
        # Segment's SDKs read a top-level code and message (siyu/ingest/api.py, _refusal): mirrors only.
        assert (body.pop("code"), body.pop("message")) == (body["error"]["code"], body["error"]["message"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def _operations(app) -> list[tuple[str, str]]:  # noqa: ANN001
    found = []
    for path, item in app.openapi()["paths"].items():
        if path in PUBLIC or not (path.startswith("/api/") or path.startswith("/v1/")):
            continue
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method.upper(), path))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_routes_exist_to_walk(app) -> None:  # noqa: ANN001
    assert len(_operations(app)) >= 3


def test_every_route_refuses_an_anonymous_caller_with_the_envelope(client, app) -> None:  # noqa: ANN001
    for method, path in _operations(app):
        response = client.request(method, _concrete(path), content=b"{}",
                                  headers={"Content-Type": "application/json"})
        error = assert_envelope(response)
        assert response.status_code in (400, 401), (method, path, response.status_code)
        assert error["code"].startswith(("auth.", "ingest.", "request.")), (method, path, error)


def test_every_route_refuses_a_wrong_secret_key(client, app) -> None:  # noqa: ANN001
    for method, path in _operations(app):
        if path.startswith("/v1/"):
            continue
        response = client.request(method, _concrete(path), headers={"Authorization": "Bearer sk_not_a_real_key"})
        assert_envelope(response, 401)


def test_unknown_routes_and_methods_use_the_envelope(client) -> None:  # noqa: ANN001
    assert_envelope(client.get("/api/no-such-thing"), 404)
    assert_envelope(client.delete("/api/health"), 405)


@pytest.mark.parametrize("body", [b"{", b"[]", b"\xff\xfe", b'{"kind": 5}'])
def test_malformed_bodies_are_4xx(client, workspace, body: bytes) -> None:  # noqa: ANN001
    response = client.post("/api/keys", content=body, headers={**workspace.bearer(),
                                                               "Content-Type": "application/json"})
    assert_envelope(response, 400)


def test_nul_characters_are_refused_before_the_database(client, workspace) -> None:  # noqa: ANN001
    headers = {**workspace.bearer(), "Content-Type": "application/json"}
    in_query = client.get("/api/profiles/lookup?type=user_id&value=a%00b", headers=workspace.bearer())
    assert assert_envelope(in_query, 400)["code"] == "request.nul_character"
    in_body = client.post("/api/tags", content=b'{"name": "a\\u0000b"}', headers=headers)
    assert assert_envelope(in_body, 400)["code"] == "request.nul_character"
    import base64

    basic = {"Authorization": "Basic " + base64.b64encode(f"{workspace.write_key}:".encode()).decode()}
    in_event = client.post("/v1/track", content=b'{"userId": "u", "event": "a\\u0000"}', headers=basic)
    assert assert_envelope(in_event, 400)["code"] == "ingest.nul_character"
