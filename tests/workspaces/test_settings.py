"""Workspace settings over the API and the CLI: merge patches, masked secrets that survive a round
trip, and every section checked by the capability that reads it before anything is stored."""

from __future__ import annotations

import json

import pytest

from siyu.db.engine import read
from siyu.runtime import Runtime
from siyu.workspaces import store
from siyu.workspaces.models import Role
from siyu.workspaces.settings import MASK, merge_patch, redact
from tests.workspaces.test_api import key
from tests.workspaces.test_cli import siyu

WECHAT = {"appid": "wx123", "secret": "s3cr3t-app-secret", "base_url": "http://127.0.0.1:9"}


def stored(runtime: Runtime, workspace_id: int) -> dict:
    with read(runtime.engine) as conn:
        return store.get_workspace(conn, workspace_id).settings


def test_merge_patch_follows_rfc_7386_and_the_mask_keeps_a_stored_secret() -> None:
    current = {"channels": {"wechat": dict(WECHAT)}, "messaging": {"cooldown_minutes": 30, "quiet_start": "22:00"}}
    patched = merge_patch(current, {"channels": {"wechat": {"secret": MASK, "appid": "wx456"}},
                                    "messaging": {"quiet_start": None}, "koc": {"weights": {"shares": 2}}})
    assert patched == {"channels": {"wechat": {**WECHAT, "appid": "wx456"}}, "messaging": {"cooldown_minutes": 30},
                       "koc": {"weights": {"shares": 2}}}
    assert current["channels"]["wechat"]["appid"] == "wx123"  # the input is not changed
    assert redact(patched)["channels"]["wechat"] == {**WECHAT, "appid": "wx456", "secret": MASK}


def test_the_api_masks_secrets_and_a_round_trip_keeps_them(client, runtime: Runtime, workspace) -> None:
    sent = client.patch("/api/workspace/settings", headers=workspace.bearer(),
                        json={"channels": {"wechat": WECHAT}, "messaging": {"cooldown_minutes": 90}})
    assert sent.status_code == 200, sent.text
    shown = client.get("/api/workspace/settings", headers=workspace.bearer()).json()["settings"]
    assert shown["channels"]["wechat"]["secret"] == MASK
    assert "s3cr3t" not in json.dumps(shown)
    shown["messaging"]["cooldown_minutes"] = 120  # a form sends back everything it showed, mask included
    again = client.patch("/api/workspace/settings", headers=workspace.bearer(), json=shown)
    assert again.status_code == 200, again.text
    assert stored(runtime, workspace.id) == {"channels": {"wechat": WECHAT}, "messaging": {"cooldown_minutes": 120}}


@pytest.mark.parametrize(("patch", "field"), [
    ({"messaging": {"caps": [{"limit": -1}]}}, "settings.messaging"),
    ({"messaging": {"quiet_start": "25:99"}}, "settings.messaging"),
    ({"identity": {"limits": {"shoe_size": 3}}}, "settings.identity"),
    ({"identity": {"blocked": ["(unclosed"]}}, "settings.identity"),
    ({"channels": {"wechat": {"appid": "wx1"}}}, "settings.channels"),
    ({"channels": {"wechat": {**WECHAT, "oauth_scope": "snsapi_login"}}}, "settings.channels"),
    ({"channels": {"pigeon": {"coop": 1}}}, "settings.channels"),
    ({"channels": {"webhook": {"url": "ftp://x", "secret": "k"}}}, "settings.channels"),
    ({"channels": {"sms": {"provider": "nobody"}}}, "settings.channels"),
    ({"channels": {"webhook": {"url": "https://x", "secret": "k", "concurrency": 0}}}, "settings.channels"),
    ({"channels": {"webhook": {"url": "https://x", "secret": "k", "rate_per_second": -1}}}, "settings.channels"),
    ({"lifecycle": {"active_days": 200, "churned_days": 100}}, "settings.lifecycle"),
    ({"koc": "heavy"}, "settings.koc"),
    ({"channels": {"email": {"host": "smtp", "sender": "a@b.cn", "password": MASK}}}, "settings.channels.email"),
])
def test_a_refused_section_names_its_field_and_changes_nothing(client, runtime: Runtime, workspace, patch,
                                                               field) -> None:
    assert client.patch("/api/workspace/settings", headers=workspace.bearer(),
                        json={"messaging": {"cooldown_minutes": 45}}).status_code == 200
    response = client.patch("/api/workspace/settings", headers=workspace.bearer(), json=patch)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "workspace.invalid_settings"
    assert error["details"]["field"].startswith(field)
    assert stored(runtime, workspace.id) == {"messaging": {"cooldown_minutes": 45}}


def test_not_an_object_or_not_storable_is_a_4xx(client, workspace) -> None:
    response = client.patch("/api/workspace/settings", headers=workspace.bearer(), json=[1, 2])
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    huge = client.patch("/api/workspace/settings", headers=workspace.bearer(), json={"notes": -(2 ** 64)})
    assert huge.status_code == 422 and huge.json()["error"]["code"] == "workspace.invalid_settings"


def test_only_owners_read_or_change_settings(client, runtime: Runtime, workspace, other_workspace) -> None:
    for role in (Role.OPERATOR, Role.ANALYST, Role.STAFF):
        headers = key(runtime, workspace.id, role)
        assert client.get("/api/workspace/settings", headers=headers).status_code == 403
        assert client.patch("/api/workspace/settings", headers=headers, json={"koc": {}}).status_code == 403
    client.patch("/api/workspace/settings", headers=other_workspace.bearer(), json={"koc": {"weights": {"shares": 9}}})
    assert "koc" not in stored(runtime, workspace.id)  # one workspace's key never changes another's


def test_the_cli_sets_from_a_file_and_assignments_and_shows_masked(runtime: Runtime, database_url: str, workspace,
                                                                  tmp_path) -> None:
    patch = tmp_path / "patch.yaml"
    patch.write_text("channels:\n  wechat:\n    appid: wx123\n    secret: s3cr3t-app-secret\n"
                     "    base_url: http://127.0.0.1:9\n", encoding="utf-8")
    result = siyu(database_url, "workspace", "settings", "set", "-w", str(workspace.id), "--file", str(patch),
                  "--set", "messaging.cooldown_minutes=60", "--set", "messaging.quiet_start=\"21:30\"")
    assert result.returncode == 0, result.stderr
    assert stored(runtime, workspace.id) == {"channels": {"wechat": WECHAT},
                                             "messaging": {"cooldown_minutes": 60, "quiet_start": "21:30"}}
    shown = siyu(database_url, "workspace", "settings", "show", "-w", str(workspace.id))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["channels"]["wechat"]["secret"] == MASK
    bad = siyu(database_url, "workspace", "settings", "set", "-w", str(workspace.id), "--set",
               "messaging.cooldown_minutes=\"soon\"")
    assert bad.returncode == 2
    assert "settings.messaging" in bad.stderr and "Traceback" not in bad.stderr
    assert stored(runtime, workspace.id)["messaging"]["cooldown_minutes"] == 60
    assert siyu(database_url, "workspace", "settings", "set", "-w", str(workspace.id), "--set", "nodot").returncode == 2


@pytest.mark.parametrize("scope", ["snsapi_base", "snsapi_userinfo"])
def test_a_wechat_oauth_scope_wechat_knows_is_kept(client, runtime: Runtime, workspace, scope: str) -> None:
    sent = client.patch("/api/workspace/settings", headers=workspace.bearer(),
                        json={"channels": {"wechat": {**WECHAT, "oauth_scope": scope}}})
    assert sent.status_code == 200, sent.text
    assert stored(runtime, workspace.id)["channels"]["wechat"]["oauth_scope"] == scope


@pytest.mark.parametrize("scope", ["snsapi_login", "SNSAPI_BASE", "", 1, ["snsapi_base"]])
def test_any_other_wechat_oauth_scope_is_refused_naming_the_allowed_ones(client, runtime: Runtime, workspace,
                                                                         scope) -> None:
    assert client.patch("/api/workspace/settings", headers=workspace.bearer(),
                        json={"channels": {"wechat": WECHAT}}).status_code == 200
    response = client.patch("/api/workspace/settings", headers=workspace.bearer(),
                            json={"channels": {"wechat": {"oauth_scope": scope}}})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("workspace.invalid_settings", "settings.channels")
    assert "oauth_scope must be one of snsapi_base, snsapi_userinfo" in error["message"]
    assert stored(runtime, workspace.id) == {"channels": {"wechat": WECHAT}}


def test_the_cli_refuses_a_bad_wechat_oauth_scope_with_exit_2(runtime: Runtime, database_url: str,
                                                              workspace) -> None:
    bad = siyu(database_url, "workspace", "settings", "set", "-w", str(workspace.id),
               "--set", f"channels.wechat={json.dumps({**WECHAT, 'oauth_scope': 'snsapi_login'})}")
    assert bad.returncode == 2, bad.stderr
    assert "oauth_scope must be one of snsapi_base, snsapi_userinfo" in " ".join(bad.stderr.split())  # rich wraps
    assert "Traceback" not in bad.stderr
    assert "channels" not in stored(runtime, workspace.id)
