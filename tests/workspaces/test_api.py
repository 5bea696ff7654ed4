"""The workspace and keys API: roles, revocation, and no reach into another workspace."""

from __future__ import annotations

import base64

from siyu.api.auth import SECRET_KEY_TTL_SECONDS
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store
from siyu.workspaces.models import KeyKind, Role
from tests.api.test_error_shape import assert_envelope


def key(runtime: Runtime, workspace_id: int, role: Role) -> dict[str, str]:
    with write(runtime.engine) as conn:
        _, plaintext = store.create_key(conn, workspace_id, KeyKind.SECRET, role=role)
    return {"Authorization": f"Bearer {plaintext}"}


def test_the_caller_sees_its_own_workspace(client, workspace) -> None:  # noqa: ANN001
    body = client.get("/api/workspace", headers=workspace.bearer()).json()
    assert (body["id"], body["name"], body["timezone"]) == (workspace.id, workspace.name, "Asia/Shanghai")


def test_an_owner_creates_lists_and_revokes_keys(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    created = client.post("/api/keys", json={"kind": "write", "name": "mini program"}, headers=workspace.bearer())
    assert created.status_code == 201
    new_key = created.json()["key"]
    listed = client.get("/api/keys", headers=workspace.bearer()).json()
    assert "key" not in listed[0] and {k["name"] for k in listed} >= {"mini program"}
    auth = {"Authorization": "Basic " + base64.b64encode(f"{new_key}:".encode()).decode()}
    assert client.post("/v1/track", json={"userId": "u", "event": "x"}, headers=auth).status_code == 200
    assert client.delete(f"/api/keys/{created.json()['id']}", headers=workspace.bearer()).status_code == 204
    refused = client.post("/v1/track", json={"userId": "u", "event": "x"}, headers=auth)
    assert assert_envelope(refused, 401)["code"] == "auth.invalid_write_key"


def test_a_revoked_secret_key_stops_at_once_here_and_within_the_cache_time_elsewhere(
        client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    here = client.post("/api/keys", json={"kind": "secret", "role": "operator"}, headers=workspace.bearer()).json()
    elsewhere = client.post("/api/keys", json={"kind": "secret", "role": "operator"}, headers=workspace.bearer()).json()
    for made in (here, elsewhere):  # both used, so both are in this process's cache
        assert client.get("/api/workspace", headers={"Authorization": f"Bearer {made['key']}"}).status_code == 200
    with write(runtime.engine) as conn:  # as `siyu keys revoke` in another process does
        store.revoke_key(conn, workspace.id, elsewhere["id"])
    bearer = {"Authorization": f"Bearer {elsewhere['key']}"}
    assert client.get("/api/workspace", headers=bearer).status_code == 200  # cached a little while
    cache = runtime.extras["secret_keys"]
    cache[elsewhere["key"]] = (cache[elsewhere["key"]][0] - SECRET_KEY_TTL_SECONDS, cache[elsewhere["key"]][1])
    assert assert_envelope(client.get("/api/workspace", headers=bearer), 401)["code"] == "auth.invalid_key"
    assert client.delete(f"/api/keys/{here['id']}", headers=workspace.bearer()).status_code == 204
    refused = client.get("/api/workspace", headers={"Authorization": f"Bearer {here['key']}"})
    assert assert_envelope(refused, 401)["code"] == "auth.invalid_key"  # revoked here: at once


def test_only_owners_manage_keys(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    for role in (Role.OPERATOR, Role.ANALYST, Role.STAFF):
        headers = key(runtime, workspace.id, role)
        assert_envelope(client.get("/api/keys", headers=headers), 403)
        assert_envelope(client.post("/api/keys", json={"kind": "write"}, headers=headers), 403)


def test_a_secret_key_needs_a_role(client, workspace) -> None:  # noqa: ANN001
    response = client.post("/api/keys", json={"kind": "secret"}, headers=workspace.bearer())
    assert assert_envelope(response, 400)["code"] == "workspaces.invalid"


def test_another_workspace_cannot_see_or_revoke_keys(client, workspace, other_workspace) -> None:  # noqa: ANN001
    mine = client.post("/api/keys", json={"kind": "write"}, headers=workspace.bearer()).json()
    assert_envelope(client.delete(f"/api/keys/{mine['id']}", headers=other_workspace.bearer()), 404)
    theirs = client.get("/api/keys", headers=other_workspace.bearer()).json()
    assert mine["id"] not in {k["id"] for k in theirs}
    assert client.get("/api/workspace", headers=other_workspace.bearer()).json()["id"] == other_workspace.id
