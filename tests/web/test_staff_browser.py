"""Staff in a real browser (Debian's chromium through Playwright): close today's task with a note,
mark the member as left, hand their customers over (离职继承) through the form, send it to the fake
WeCom with the page's button, and see the statuses — each outcome checked through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.journeys import task_store
from siyu.runtime import Runtime
from tests.staff.platforms import platforms
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_close_a_task_mark_a_member_left_and_hand_their_customers_over(browser, live_server: str,  # noqa: F811
                                                                       runtime: Runtime, client,  # noqa: ANN001
                                                                       workspace, artifacts_dir: Path,  # noqa: ANN001
                                                                       backend: str) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    email = f"staff-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    auth = workspace.bearer()
    with platforms(runtime, client, workspace) as fake:
        zhangsan = client.post("/api/staff", headers=auth, json={"userid": "zhangsan", "name": "张三"}).json()
        client.post("/api/staff", headers=auth, json={"userid": "lisi", "name": "李四"})
        person = fake.customer(client, workspace, "zhangsan", "wmBrowser1")
        with write(runtime.engine) as conn:
            task = task_store.create_task(conn, workspace.id, profile_id=person, title="回访", note="问问使用感受",
                                          due_at=clock.now() + timedelta(hours=5), source="journey:1",
                                          source_key="b1", now=clock.now())

        page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server}/login?next=/staff")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#members")
        page.select_option("#staff-kind", "persona")
        assert page.is_hidden("#staff-userid")
        page.fill("#staff-name", "小完子")
        page.fill("#staff-signature", "完子心选主理人")
        page.click("#add-staff")
        page.wait_for_selector("h1#member-name")
        persona = client.get(f"/api/staff/{int(page.url.rstrip('/').split('/')[-1])}", headers=auth).json()
        assert (persona["kind"], persona["name"], persona["signature"]) == ("persona", "小完子", "完子心选主理人")
        page.goto(f"{live_server}/staff")
        page.click(f"#members tr[data-id='{zhangsan['id']}'] a")
        page.wait_for_selector("#tasks")
        item = page.locator(f"#tasks li[data-id='{task}']")
        item.locator(".task-note").fill("已电话回访")
        item.locator("button.done").click()
        page.wait_for_selector(f"#tasks li[data-id='{task}'][data-status='done']")
        assert "已电话回访" in page.inner_text(f"#tasks li[data-id='{task}'] .result-note")
        closed = client.get(f"/api/staff/{zhangsan['id']}/tasks", params={"status": "done"}, headers=auth).json()
        assert [(t["id"], t["result_note"]) for t in closed] == [(task, "已电话回访")]
        page.screenshot(path=str(artifacts_dir / f"console-staff-member-{backend}.png"), full_page=True)

        page.click("#mark-left")
        page.wait_for_function("document.getElementById('member-status').textContent === '已离职'")
        assert client.get(f"/api/staff/{zhangsan['id']}", headers=auth).json()["status"] == "left"
        page.click("text=继承其客户")
        page.wait_for_selector("#transfer-form")
        assert page.input_value("#handover") == "zhangsan"
        assert page.input_value("#transfer-kind") == "resigned"  # the member has left: 离职继承
        assert page.is_hidden("#transfer-message")  # the customer is told only in an in-service transfer
        page.select_option("#takeover", "lisi")
        page.select_option("#transfer-kind", "in_service")
        assert page.is_visible("#transfer-message")
        page.select_option("#transfer-kind", "resigned")
        page.click("#transfer")
        page.wait_for_selector("#transfers")
        [decided] = client.get("/api/customer-transfers", headers=auth).json()
        assert (decided["kind"], decided["profile_id"], decided["status"]) == ("resigned", person, "decided")
        assert page.inner_text(f"#transfers tr[data-id='{decided['id']}'] td.status") == "已决定"

        page.click("#sync")
        status = f"#transfers tr[data-id='{decided['id']}'] td.status"
        page.wait_for_function(f"document.querySelector(\"{status}\").textContent === '等待企业微信'")
        assert client.get("/api/customer-transfers", headers=auth).json()[0]["status"] == "waiting"
        assert len(fake.wecom.transfer_bodies) == 1
        page.screenshot(path=str(artifacts_dir / f"console-staff-transfers-{backend}.png"), full_page=True)
