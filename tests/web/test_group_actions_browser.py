"""Group tags and broadcasts to groups from the console in a real browser (Debian's chromium through
Playwright): tag the ticked groups with a new tag, tag one group on its page and take a tag off, and
broadcast to the ticked groups — each outcome checked through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.channels.fakes.wecom import FakeWeCom
from siyu.db.engine import write
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.groups.scene import CORP, SECRET, T0, configure, member, push
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user, sign_in

pytestmark = pytest.mark.browser


def _groups(runtime: Runtime, client, workspace) -> dict[str, int]:  # noqa: ANN001
    with FakeWeCom({CORP: SECRET}) as wecom:
        configure(runtime, workspace.id, wecom)
        for chat, name in (("wrTagA", "上海福利群"), ("wrTagB", "北京福利群")):
            wecom.set_group_chat(chat, name=name, owner="zhangsan", members=[member("wmA", T0)])
            push(runtime, workspace.id, "chat_create", chat)
        run_due(runtime)
    return {g["name"]: g["id"] for g in client.get("/api/groups", headers=workspace.bearer()).json()}


def _tags(client, workspace, group_id: int) -> list[str]:  # noqa: ANN001
    found = client.get(f"/api/groups/{group_id}", headers=workspace.bearer()).json()
    return sorted(f"{t['tag_group']}·{t['name']}" for t in found["tags"])


def test_tag_groups_and_broadcast_to_them_from_the_console(browser, live_server: str,  # noqa: F811
                                                           runtime: Runtime, client, workspace,  # noqa: ANN001
                                                           artifacts_dir: Path, backend: str) -> None:
    groups = _groups(runtime, client, workspace)
    shanghai, beijing = groups["上海福利群"], groups["北京福利群"]
    email = f"group-actions-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page.goto(f"{live_server}/login?next=/groups")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#group-tag-form")

    page.click("#gt-add")  # nothing ticked: said on top of the form
    assert "至少勾选一个群" in page.inner_text("#group-tag-error")
    page.check(f"#groups tr[data-id='{shanghai}'] input.pick")
    page.fill("#gt-group", "地区")
    page.fill("#gt-name", "上海")
    page.click("#gt-add")
    page.wait_for_selector(f"#groups tr[data-id='{shanghai}'] td.tags .tag")
    assert _tags(client, workspace, shanghai) == ["地区·上海"] and _tags(client, workspace, beijing) == []

    page.goto(f"{live_server}/groups/{beijing}")  # one group's page: an existing tag, then take it off
    page.wait_for_selector("#group-tag-form")
    assert "给本群打标签" in page.inner_text("#group-tag-form h2")
    page.select_option("#gt-tag", label="地区 · 上海")
    assert page.is_hidden("#gt-new")
    page.click("#gt-add")
    page.wait_for_selector("button.untag")
    assert _tags(client, workspace, beijing) == ["地区·上海"]
    page.click("button.untag")
    page.wait_for_function("!document.querySelector('button.untag')")
    assert _tags(client, workspace, beijing) == []

    page.goto(f"{live_server}/groups")
    page.wait_for_selector("#group-broadcast-form")
    page.check("#pick-all")
    page.fill("#gb-name", "双 11 提醒")
    page.click("#gb-send")  # no text: the API's refusal beside the message
    refusal = page.locator(".field-error[data-for='content']")
    refusal.wait_for(state="visible")
    page.fill("#gb-text", "今晚 8 点直播，群里抢券！")
    page.click("#gb-send")
    page.wait_for_selector("#group-broadcasts")
    [broadcast] = client.get("/api/groups/broadcasts", headers=workspace.bearer()).json()
    assert (broadcast["name"], broadcast["groups_chosen"]) == ("双 11 提醒", 2)
    assert broadcast["content"] == {"text": {"content": "今晚 8 点直播，群里抢券！"}}
    assert page.inner_text(f"#group-broadcasts tr[data-id='{broadcast['id']}'] td.chosen") == "2"
    page.screenshot(path=str(artifacts_dir / f"console-group-actions-{backend}.png"), full_page=True)


def test_an_analyst_sees_groups_without_the_forms(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    groups = _groups(runtime, client, workspace)
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/groups")
    assert listed.status_code == 200 and "上海福利群" in listed.text
    assert 'id="group-tag-form"' not in listed.text and 'class="pick"' not in listed.text
    assert 'id="group-broadcast-form"' not in client.get(f"/groups/{groups['北京福利群']}").text
