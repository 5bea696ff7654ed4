"""Console pages for channel codes over HTTP: the list with today's figures, the create form's data and
the API call it makes, the detail page's QR, downloads and daily chart, roles, other workspaces."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from siyu import clock
from siyu.acquisition import channel_codes_store
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.staff.platforms import platforms
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

NOON = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _row(html: str, code_id: int) -> str:
    return re.search(rf'<tr data-id="{code_id}">(.*?)</tr>', html, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'class="{name}">([^<]*)<', row).group(1)


def test_create_a_code_as_the_console_does_and_see_todays_figures(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                   workspace) -> None:
    clock.freeze(NOON)
    listed = signed_in.get("/codes")
    assert listed.status_code == 200 and 'id="no-codes"' in listed.text and 'href="/codes/new"' in listed.text
    assert 'href="/codes"' in listed.text and "渠道活码" in listed.text  # the nav link
    form = signed_in.get("/codes/new")
    assert form.status_code == 200 and 'data-api="/api/channel-codes"' in form.text
    csrf = _data(form.text, "form-data")["csrf"]
    with platforms(runtime, signed_in, workspace) as fake:
        body = {"kind": "wechat_qr", "key": "tmall_card", "name": "天猫包裹卡", "caption": "扫码关注领红包",
                "expire_seconds": 7 * 86400, "welcome": {"text": "欢迎！"}, "tags": ["渠道:天猫包裹卡"],
                "reward": {"cash_fen": 188, "budget_fen": 100000}}
        refused = signed_in.post("/api/channel-codes", headers={"X-CSRF-Token": csrf}, json={**body, "key": "天猫"})
        assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "key"
        created = signed_in.post("/api/channel-codes", headers={"X-CSRF-Token": csrf}, json=body)
        assert created.status_code == 201, created.text
        code_id = created.json()["id"]
        fake.wechat_push.push(fake.wechat_push.follow("oCard1", scene="tmall_card"))
        fake.wechat_push.push(fake.wechat_push.follow("oCard2", scene="tmall_card"))

    row = _row(signed_in.get("/codes").text, code_id)
    assert "天猫包裹卡" in row and _cell(row, "status") == "启用中"
    assert (_cell(row, "scans"), _cell(row, "follows"), _cell(row, "new")) == ("2", "2", "2")

    page = signed_in.get(f"/codes/{code_id}")
    assert page.status_code == 200 and 'id="code-name">天猫包裹卡<' in page.text
    assert f'src="/api/channel-codes/{code_id}/qr.png' in page.text
    assert f'href="/api/channel-codes/{code_id}/card.png"' in page.text and "印刷物料卡" in page.text
    assert 'id="total-follows">2<' in page.text and "渠道:天猫包裹卡" in page.text
    assert re.search(r'id="code-reward">¥1.88 · 预算 ¥1,000.00<', page.text)
    chart = _data(page.text, "chart-data")
    assert len(chart["labels"]) == 30 and chart["labels"][-1] == "11-30"
    follows = next(s for s in chart["series"] if s["code"] == "follows")
    assert follows["name"] == "关注" and follows["values"][-1] == 2 and sum(follows["values"]) == 2
    # the page's download links are the API's, and they take the console session
    png = signed_in.get(f"/api/channel-codes/{code_id}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert 'id="archive"' in page.text
    archived = signed_in.patch(f"/api/channel-codes/{code_id}", headers={"X-CSRF-Token": csrf},
                               json={"status": "archived"})  # what the Archive button sends
    assert archived.status_code == 200, archived.text
    assert _cell(_row(signed_in.get("/codes").text, code_id), "status") == "已归档"
    assert 'id="reactivate"' in signed_in.get(f"/codes/{code_id}").text


def test_a_wecom_code_shows_its_routing_and_who_is_offered_now(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                workspace) -> None:
    clock.freeze(NOON)
    csrf = _data(signed_in.get("/codes/new").text, "form-data")["csrf"]
    with platforms(runtime, signed_in, workspace):
        created = signed_in.post("/api/channel-codes", headers={"X-CSRF-Token": csrf}, json={
            "kind": "wecom_contact", "key": "xhs_post", "name": "小红书笔记",
            "routing": {"strategy": "round_robin", "staff": [{"userid": "wanzi_a", "hours": ["09:00", "21:00"]},
                                                              {"userid": "wanzi_b", "daily_cap": 0}]}})
        assert created.status_code == 201, created.text
    page = signed_in.get(f"/codes/{created.json()['id']}")
    assert 'id="routing"' in page.text and "<code>wanzi_a</code>" in page.text
    assert re.search(r'id="routed-users">wanzi_a<', page.text)
    assert "qr.svg" not in page.text  # WeCom gives an image only


def test_an_analyst_reads_codes_but_may_not_create_them(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    with write(runtime.engine) as conn:
        channel_codes_store.create_code(conn, workspace.id, clock.now(), kind="wechat_qr", key="store_sh",
                                        name="上海门店", caption=None, routing=None, welcome=None, tags=None,
                                        journey_id=None, expires_at=None)
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/codes")
    assert listed.status_code == 200 and "上海门店" in listed.text and 'id="new-code"' not in listed.text
    assert ">Not ready<" in listed.text  # created in the table only: no QR from the platform yet
    refused = client.get("/codes/new")
    assert refused.status_code == 403 and "needs the messages:send permission" in refused.text
    code_id = re.search(r'<tr data-id="(\d+)">', listed.text).group(1)
    assert 'id="archive"' not in client.get(f"/codes/{code_id}").text


def test_another_workspaces_code_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    with write(runtime.engine) as conn:
        theirs = channel_codes_store.create_code(conn, other.id, clock.now(), kind="wechat_qr", key="theirs",
                                                 name="theirs", caption=None, routing=None, welcome=None, tags=None,
                                                 journey_id=None, expires_at=None)
    assert signed_in.get(f"/codes/{theirs['id']}").status_code == 404
    assert "theirs" not in signed_in.get("/codes").text
    assert signed_in.get("/codes/abc").status_code == 404


def test_code_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/codes", "/codes/new", "/codes/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
