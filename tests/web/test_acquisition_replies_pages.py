"""Console pages for keyword replies and welcome messages over HTTP: the rules in the order tried with
their match counts (from real signed pushes), the editor's data and the API calls it makes, the
default welcome per platform, roles, other workspaces."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.acquisition import replies_store
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.acquisition.test_replies import APPID, text
from tests.callbacks.test_endpoints import NOON, TOKEN, configure, platform
from tests.conftest import make_workspace
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _cell(html: str, row_id: int, name: str) -> str:
    row = re.search(rf'<tr data-id="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'class="{name}">(.*?)</td>', row, re.S).group(1)


def _rule(runtime: Runtime, workspace_id: int, name: str, **values: Any) -> int:
    with write(runtime.engine) as conn:
        return replies_store.create_rule(conn, workspace_id, {
            "name": name, "trigger": "keyword", "match": "contains", "patterns": ["新人"], "priority": 10,
            "enabled": True, "reply": text("欢迎"), "variants": [], **values}, clock.now()).id


def test_rules_with_match_counts_switched_off_and_edited_as_the_console_does(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                             workspace) -> None:
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN})
    clock.freeze(NOON)
    listed = signed_in.get("/replies")
    assert listed.status_code == 200 and 'id="no-rules"' in listed.text and "自动回复" in listed.text
    headers = {"X-CSRF-Token": _data(listed.text, "form-data")["csrf"]}
    assert 'data-api="/api/replies/rules"' in signed_in.get("/replies/new").text
    refused = signed_in.post("/api/replies/rules", headers=headers, json={
        "name": "坏正则", "match": "regex", "patterns": ["(unclosed"], "reply": text("x")})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"].startswith("patterns")
    created = signed_in.post("/api/replies/rules", headers=headers, json={
        "name": "新人礼", "match": "contains", "patterns": ["新人", "new"], "priority": 10, "enabled": True,
        "reply": text("回复「领取」拿新人礼"), "variants": []})
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    oa = platform(signed_in, workspace.id)
    assert oa.reply(oa.push(oa.text("oA", "我是新人")))["Content"] == "回复「领取」拿新人礼"
    oa.push(oa.text("oB", "NEW"))
    html = signed_in.get("/replies").text
    assert _cell(html, rule_id, "matches") == "2" and _cell(html, rule_id, "status") == "已开启"
    assert "<code>新人</code> <code>new</code>" in html and 'data-body=\'{"enabled": false}\'' in html

    assert signed_in.patch(f"/api/replies/rules/{rule_id}", headers=headers, json={"enabled": False}).status_code == 200
    assert _cell(signed_in.get("/replies").text, rule_id, "status") == "已关闭"
    editor = signed_in.get(f"/replies/{rule_id}/edit").text
    assert f'data-api="/api/replies/rules/{rule_id}"' in editor and 'data-method="PATCH"' in editor
    assert ">回复「领取」拿新人礼</textarea>" in editor  # a text reply is edited as text
    assert re.search(r'<textarea id="reply-json"[^>]*></textarea>', editor)


def test_a_non_text_reply_is_edited_as_json(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    rule_id = _rule(runtime, workspace.id, "门店", reply={"msgtype": "image", "image": {"media_id": "MEDIA_1"}},
                    variants=[{"from": "22:00", "to": "08:00", "reply": text("夜深了")}])
    editor = signed_in.get(f"/replies/{rule_id}/edit").text
    reply_json = re.search(r'<textarea id="reply-json"[^>]*>(.*?)</textarea>', editor, re.S).group(1)
    assert json.loads(reply_json.replace("&#34;", '"')) == {"msgtype": "image", "image": {"media_id": "MEDIA_1"}}
    assert re.search(r'<textarea id="reply-text"[^>]*></textarea>', editor) and "22:00" in editor


def test_default_welcome_per_platform(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN})
    clock.freeze(NOON)
    page = signed_in.get("/replies").text
    assert page.count("未设置") == 2 and 'data-api="/api/replies/welcome/wechat"' in page
    assert 'data-api="/api/replies/welcome/wecom"' in page
    headers = {"X-CSRF-Token": _data(page, "form-data")["csrf"]}
    saved = signed_in.put("/api/replies/welcome/wechat", headers=headers,
                          json={"content": text("欢迎关注完子心选"), "enabled": True})
    assert saved.status_code == 200, saved.text
    oa = platform(signed_in, workspace.id)
    assert oa.reply(oa.push(oa.event("oNew", "subscribe")))["Content"] == "欢迎关注完子心选"
    page = signed_in.get("/replies").text
    wechat = re.search(r'data-platform="wechat">(.*?)</form>', page, re.S).group(1)
    assert 'class="welcome-status">已开启<' in wechat and 'class="sent">1<' in wechat and "欢迎关注完子心选" in wechat


def test_an_analyst_reads_replies_but_may_not_change_them(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    rule_id = _rule(runtime, workspace.id, "新人礼")
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/replies").text
    assert "新人礼" in listed and 'id="new-rule"' not in listed and "data-action" not in listed
    assert "<form" not in listed.split('id="welcomes"')[1]
    for path in ("/replies/new", f"/replies/{rule_id}/edit"):
        refused = client.get(path)
        assert refused.status_code == 403 and "needs the messages:send permission" in refused.text


def test_another_workspaces_rule_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    theirs = _rule(runtime, other.id, "theirs")
    assert signed_in.get(f"/replies/{theirs}/edit").status_code == 404
    assert "theirs" not in signed_in.get("/replies").text
    assert signed_in.get("/replies/abc/edit").status_code == 404


def test_reply_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/replies", "/replies/new", "/replies/1/edit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
