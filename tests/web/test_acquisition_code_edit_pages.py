"""The channel-code edit form over HTTP: its endpoint's checks (CSRF, role, the rules' refusals in
the API's shape, expiry only for WeCom codes), another workspace's code, and the page in Chinese."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.acquisition import channel_codes_store
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)


def _code(runtime: Runtime, workspace_id: int, key: str, kind: str = "wechat_qr") -> dict[str, Any]:
    with write(runtime.engine) as conn:
        return channel_codes_store.create_code(
            conn, workspace_id, clock.now(), kind=kind, key=key, name="上海门店", caption=None, welcome=None,
            routing={"staff": [{"userid": "wanzi_a"}]} if kind == "wecom_contact" else None, tags=["门店"],
            journey_id=None, expires_at=None)


def _csrf(html: str) -> str:
    return json.loads(re.search(r'id="form-data" type="application/json">(.*?)</script>', html, re.S).group(1))["csrf"]


def test_the_form_saves_every_rule_and_refuses_beside_the_field(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                  workspace) -> None:
    code = _code(runtime, workspace.id, "store_sh")
    page = signed_in.get(f"/codes/{code['id']}/edit")
    assert page.status_code == 200 and "编辑渠道活码" in page.text and 'id="qr-expiry"' in page.text
    assert 'value="门店"' in page.text and 'id="expires-at"' not in page.text  # no expiry field for a QR code
    headers = {"X-CSRF-Token": _csrf(page.text)}
    body = {"name": "上海旗舰店", "caption": "", "welcome": "欢迎", "tags": ["门店", "上海"], "journey_id": 0,
            "reward": {"cash_fen": 100}}
    assert signed_in.post(f"/codes/{code['id']}/edit", json=body).status_code == 403  # no CSRF token
    bad = signed_in.post(f"/codes/{code['id']}/edit", headers=headers, json={**body, "reward": {"cash_fen": 10}})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "reward"
    empty = signed_in.post(f"/codes/{code['id']}/edit", headers=headers, json={**body, "name": ""})
    assert empty.status_code == 422 and empty.json()["error"]["details"]["field"] == "name"
    missing = signed_in.post(f"/codes/{code['id']}/edit", headers=headers, json={**body, "journey_id": 99999})
    assert missing.status_code == 404
    saved = signed_in.post(f"/codes/{code['id']}/edit", headers=headers, json=body)
    assert saved.status_code == 200 and saved.json() == {"id": code["id"]}
    shown = signed_in.get(f"/api/channel-codes/{code['id']}").json()
    assert (shown["name"], shown["welcome"], shown["tags"], shown["reward"]) == (
        "上海旗舰店", {"text": "欢迎"}, ["门店", "上海"], {"cash_fen": 100})

    wecom = _code(runtime, workspace.id, "wecom_sh", kind="wecom_contact")
    late = signed_in.post(f"/codes/{wecom['id']}/edit", headers=headers,
                          json={**body, "routing": {"staff": [{"userid": "wanzi_a"}]}, "expires_at": "soon"})
    assert late.status_code == 422 and late.json()["error"]["details"]["field"] == "expires_at"


def test_an_analyst_may_not_edit_and_another_workspaces_code_is_not_found(client, runtime: Runtime,  # noqa: ANN001
                                                                          workspace) -> None:
    code = _code(runtime, workspace.id, "store_bj")
    theirs = _code(runtime, make_workspace(runtime, "other").id, "theirs")
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    refused = client.get(f"/codes/{code['id']}/edit")
    assert refused.status_code == 403 and "may not change channel codes" in refused.text
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/codes").text).group(1)  # the language form's
    answer = client.post(f"/codes/{code['id']}/edit", headers={"X-CSRF-Token": token}, json={"name": "x"})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "auth.forbidden"
    assert 'id="edit-code"' not in client.get(f"/codes/{code['id']}").text
    assert client.get(f"/codes/{theirs['id']}/edit").status_code == 403


def test_another_workspaces_code_is_a_404_for_an_operator(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                         workspace) -> None:
    theirs = _code(runtime, make_workspace(runtime, "other").id, "theirs")
    assert signed_in.get(f"/codes/{theirs['id']}/edit").status_code == 404
    page = signed_in.get(f"/codes/{_code(runtime, workspace.id, 'mine')['id']}/edit")
    token = _csrf(page.text)
    answer = signed_in.post(f"/codes/{theirs['id']}/edit", headers={"X-CSRF-Token": token}, json={"name": "x"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "channel_codes.not_found"
