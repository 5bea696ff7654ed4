"""Test people for the anti-fraud tests: profiles made through the ingest API, as in production."""

from __future__ import annotations

from typing import Any


def identify(client: Any, workspace: Any, *, user_id: str | None = None, anonymous_id: str | None = None,
             traits: dict[str, Any] | None = None) -> None:
    body: dict[str, Any] = {"traits": traits or {}}
    if user_id:
        body["userId"] = user_id
    if anonymous_id:
        body["anonymousId"] = anonymous_id
    answer = client.post("/v1/identify", auth=(workspace.write_key, ""), json=body)
    assert answer.status_code == 200, answer.text


def profile_id(client: Any, workspace: Any, kind: str, value: str) -> int:
    found = client.get("/api/profiles/lookup", params={"type": kind, "value": value}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def person(client: Any, workspace: Any, user_id: str, **traits: Any) -> int:
    identify(client, workspace, user_id=user_id, traits={"name": user_id, **traits})
    return profile_id(client, workspace, "user_id", user_id)
