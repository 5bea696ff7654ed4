"""Console pages for group live codes and community groups over HTTP: the codes with the group each
shows now, one code with its groups' state, fill, views and alerts, the form calls the pages make
(multipart QR upload included); community groups from WeCom's pushes with tags, members, inviters and
joins per day; roles, other workspaces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from siyu import clock
from siyu.channels.fakes.wecom import FakeWeCom
from siyu.db.engine import write
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.acquisition.test_group_codes import qr_png
from tests.conftest import make_workspace
from tests.groups.scene import CORP, SECRET, T0, configure, member, push
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom({CORP: SECRET}) as server:
        yield server


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _row(html: str, row_id: int) -> str:
    return re.search(rf'<tr data-id="{row_id}"[^>]*>(.*?)</tr>', html, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'class="{name}">(.*?)</td>', row, re.S).group(1).strip()


def test_a_live_code_moves_on_as_groups_fill_and_says_so_when_none_is_left(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                           workspace) -> None:
    listed = signed_in.get("/group-codes")
    assert listed.status_code == 200 and 'id="no-group-codes"' in listed.text and 'id="group-code-form"' in listed.text
    headers = {"X-CSRF-Token": _data(listed.text, "form-data")["csrf"]}
    code = signed_in.post("/api/group-codes", headers=headers, json={"name": "直播间群活码", "title": "完美日记福利群"})
    assert code.status_code == 201, code.text
    code_id, token = code.json()["id"], code.json()["token"]
    page = signed_in.get(f"/group-codes/{code_id}").text
    assert 'id="no-entries"' in page and f'data-api="/api/group-codes/{code_id}/groups"' in page
    for label in ("福利1群", "福利2群"):  # the page's form posts multipart, as here
        added = signed_in.post(f"/api/group-codes/{code_id}/groups", headers=headers, data={"label": label},
                               files={"image": ("qr.png", qr_png(label), "image/png")})
        assert added.status_code == 201, added.text
    first, second = (g["id"] for g in added.json()["groups"])
    signed_in.get(f"/g/{token}")
    html = signed_in.get("/group-codes").text
    assert _cell(_row(html, code_id), "showing") == "福利1群" and _cell(_row(html, code_id), "views") == "1"

    signed_in.patch(f"/api/group-codes/{code_id}/groups/{first}", headers=headers, json={"manual_count": 200})
    signed_in.get(f"/g/{token}")
    page = signed_in.get(f"/group-codes/{code_id}").text
    assert _cell(_row(page, first), "state") == "已满" and _cell(_row(page, first), "count") == "200 / 200"
    assert 'class="showing"' in re.search(rf'<tr data-id="{second}"[^>]*>', page).group(0)
    assert f'src="/api/group-codes/{code_id}/groups/{first}/image"' in page

    signed_in.patch(f"/api/group-codes/{code_id}/groups/{second}", headers=headers, json={"manual_count": 200})
    signed_in.get(f"/g/{token}")
    page = signed_in.get(f"/group-codes/{code_id}").text
    assert 'id="total-views">3<' in page and 'id="total-none-left">1<' in page
    assert 'data-kind="exhausted"' in page and "无可用群" in page
    chart = _data(page, "chart-data")
    assert {s["code"]: s["values"][-1] for s in chart["series"]} == {"shown": 2, "none_left": 1}
    assert _cell(_row(signed_in.get("/group-codes").text, code_id), "status") == "无可用群"


def test_community_groups_with_tags_members_inviters_and_joins(signed_in, runtime: Runtime, workspace,  # noqa: ANN001, F811
                                                               wecom: FakeWeCom) -> None:
    configure(runtime, workspace.id, wecom)
    assert 'id="no-groups"' in signed_in.get("/groups").text
    joined = int(clock.now().timestamp()) - 3600
    wecom.set_group_chat("wrSh1", name="上海福利1群", owner="zhangsan", members=[
        member("zhangsan", T0, staff=True, name="张三"),
        member("wmA", joined, scene=1, invitor="zhangsan", name="林娜"),
        member("wmB", joined, scene=3, name="王芳")])
    wecom.set_group_chat("wrBj1", name="北京福利群", owner="lisi", members=[member("wmC", T0)])
    for chat in ("wrSh1", "wrBj1"):
        push(runtime, workspace.id, "chat_create", chat)
    run_due(runtime)
    groups = {g["chat_id"]: g["id"] for g in signed_in.get("/api/groups").json()}
    csrf = re.search(r'name="csrf" value="([^"]+)"', signed_in.get("/groups").text).group(1)
    tag = signed_in.post("/api/groups/tags", headers={"X-CSRF-Token": csrf}, json={"tag_group": "城市", "name": "上海"})
    signed_in.post(f"/api/groups/tags/{tag.json()['id']}/groups", headers={"X-CSRF-Token": csrf},
                   json={"group_ids": [groups["wrSh1"]]})

    html = signed_in.get("/groups").text
    assert _cell(_row(html, groups["wrSh1"]), "members") == "3" and "城市 · 上海" in _row(html, groups["wrSh1"])
    filtered = signed_in.get("/groups", params={"tag": tag.json()["id"]}).text
    assert "上海福利1群" in filtered and "北京福利群" not in filtered
    assert "北京福利群" in signed_in.get("/groups", params={"q": "北京"}).text
    assert "上海福利1群" not in signed_in.get("/groups", params={"q": "北京"}).text

    page = signed_in.get(f"/groups/{groups['wrSh1']}").text
    assert 'id="member-count">3<' in page and 'id="recent">2<' in page
    assert re.search(r'<li>张三 · <span class="invites">1</span></li>', page)
    lina = re.search(r'<tr data-userid="wmA">(.*?)</tr>', page, re.S).group(1)
    assert "林娜" in lina and _cell(lina, "scene") == "成员邀请" and _cell(lina, "invitor") == "zhangsan"
    assert _data(page, "chart-data")["series"][0]["values"][-1] == 2


def test_an_analyst_sees_group_codes_without_the_forms(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    created = client.post("/api/group-codes", headers=workspace.bearer(), json={"name": "门店群活码"}).json()
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/group-codes").text
    assert "门店群活码" in listed and 'id="group-code-form"' not in listed
    page = client.get(f"/group-codes/{created['id']}").text
    assert 'id="entry-form"' not in page and ">No group left<" not in page and 'id="no-entries"' in page


def test_another_workspaces_codes_and_groups_are_404_pages(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    theirs = signed_in.post("/api/group-codes", headers=other.bearer(), json={"name": "theirs"}).json()
    assert signed_in.get(f"/group-codes/{theirs['id']}").status_code == 404
    assert "theirs" not in signed_in.get("/group-codes").text
    assert signed_in.get("/groups/999999").status_code == 404
    assert signed_in.get("/group-codes/abc").status_code == 404


def test_group_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/group-codes", "/group-codes/1", "/groups", "/groups/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
