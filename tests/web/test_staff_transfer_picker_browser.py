"""Picking the customers of a hand-over by searching them (name, phone, identifier) in a real browser
(Debian's chromium through Playwright), instead of typing profile ids: only the member's own
customers are offered, and only the chosen one is handed over."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from siyu import clock
from siyu.runtime import Runtime
from tests.staff.platforms import CORP, platforms
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user, sign_in

pytestmark = pytest.mark.browser


def _named(client, workspace, external_userid: str, name: str, phone: str) -> None:  # noqa: ANN001
    answer = client.post("/v1/identify", auth=(workspace.write_key, ""), json={
        "anonymousId": f"anon-{external_userid}", "traits": {"name": name, "phone": phone},
        "context": {"externalIds": [{"type": f"wecom_external_userid:{CORP}", "id": external_userid}]}})
    assert answer.status_code == 200, answer.text


def _customers(client, workspace, fake) -> dict[str, int]:  # noqa: ANN001
    auth = workspace.bearer()
    for userid, name in (("zhangsan", "张三"), ("lisi", "李四")):
        assert client.post("/api/staff", headers=auth, json={"userid": userid, "name": name}).status_code == 201
    people = {}
    for userid, external, name, phone in (("zhangsan", "wmPickA", "王芳", "13900139002"),
                                          ("zhangsan", "wmPickB", "王小明", "13800138001"),
                                          ("lisi", "wmPickC", "王五", "13700137003")):
        people[name] = fake.customer(client, workspace, userid, external)
        _named(client, workspace, external, name, phone)
    return people


def test_search_and_pick_the_customers_to_hand_over(browser, live_server: str, runtime: Runtime,  # noqa: F811
                                                    client, workspace, artifacts_dir: Path,  # noqa: ANN001
                                                    backend: str) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    email = f"picker-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email, locale="en")
    with platforms(runtime, client, workspace) as fake:
        people = _customers(client, workspace, fake)
        page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server}/login?next=/staff/transfers")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#transfer-form")
        page.select_option("#transfer-kind", "in_service")
        page.select_option("#handover", "zhangsan")
        page.select_option("#takeover", "lisi")
        page.fill("#customer-search", "王")  # 王五 is 李四's customer: not offered
        page.wait_for_selector("#customer-results button")
        offered = page.locator("#customer-results button").all_inner_texts()
        assert sorted(t.split(" · ")[0] for t in offered) == ["王小明", "王芳"]
        page.fill("#customer-search", "139 0013")  # a phone as people type it
        page.wait_for_function("document.querySelectorAll('#customer-results button').length === 1")
        page.click("#customer-results button")
        assert page.locator("#chosen-customers .chip").count() == 1
        page.fill("#customer-search", "wmPickB")  # an identifier
        page.wait_for_function("document.querySelector('#customer-results button')?.textContent.includes('王小明')")
        page.click("#customer-results button")
        page.locator(f"#chosen-customers .chip[data-id='{people['王小明']}'] button").click()  # changed my mind
        assert page.input_value("#profile-ids") == str(people["王芳"])
        page.fill("#customer-search", "nobody")
        page.wait_for_selector("#customer-results li.muted")
        page.screenshot(path=str(artifacts_dir / f"console-transfer-picker-{backend}.png"), full_page=True)
        page.click("#transfer")
        page.wait_for_selector("#transfers")
        decided = client.get("/api/customer-transfers", headers=workspace.bearer()).json()
        assert [(t["profile_id"], t["handover_userid"], t["takeover_userid"]) for t in decided] == [
            (people["王芳"], "zhangsan", "lisi")]


def test_the_search_is_the_members_customers_only_and_needs_the_role(client, runtime: Runtime,  # noqa: ANN001
                                                                     workspace) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    console_user(runtime, workspace.id, f"ops-{workspace.name}@brand.cn")
    with platforms(runtime, client, workspace) as fake:
        people = _customers(client, workspace, fake)
        assert sign_in(client, f"ops-{workspace.name}@brand.cn").status_code == 303
        page = client.get("/staff/transfers")
        assert "按姓名、手机号或标识搜索该成员的客户" in page.text and 'id="profile-ids"' in page.text
        found = client.get("/staff/transfers/customers", params={"handover": "lisi", "q": "王"}).json()
        assert [c["profile_id"] for c in found["customers"]] == [people["王五"]]
        everyone = client.get("/staff/transfers/customers", params={"handover": "zhangsan"}).json()
        assert sorted(c["name"] for c in everyone["customers"]) == ["王小明", "王芳"]
        assert client.get("/staff/transfers/customers", params={"handover": "zhangsan", "q": "zzz"}).json() == {
            "customers": []}
        client.post("/logout", data={"csrf": ""})
    client.cookies.clear()
    assert client.get("/staff/transfers/customers", params={"handover": "zhangsan"}).status_code == 403
