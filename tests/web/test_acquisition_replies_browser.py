"""Keyword replies and welcome messages in a real browser (Debian's chromium through Playwright):
write a rule, see a bad pattern refused beside the field, save, watch its match count after a real
signed push, switch it off with its button, and set the official account's welcome — each outcome
checked through the API or a push."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu import clock
from siyu.runtime import Runtime
from tests.acquisition.test_replies import APPID
from tests.callbacks.test_endpoints import NOON, TOKEN, configure, platform
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_write_a_rule_watch_it_answer_switch_it_off_and_set_the_welcome(browser, live_server: str,  # noqa: F811
                                                                        runtime: Runtime, client,  # noqa: ANN001
                                                                        workspace, artifacts_dir: Path,  # noqa: ANN001
                                                                        backend: str) -> None:
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN})
    clock.freeze(NOON)
    email = f"replies-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/replies")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-rules")
    page.click("#new-rule")
    page.wait_for_selector("#rule-form")

    page.fill("#name", "新人礼")
    page.select_option("#match", "regex")
    page.fill("#patterns", "新人(礼")
    page.fill("#priority", "10")
    page.fill("#reply-text", "{{ profile.traits.name | default('亲') }}，回复「领取」拿新人礼")
    page.click("#save")
    refusal = page.locator(".field-error[data-for='patterns']")
    refusal.wait_for(state="visible")
    assert refusal.inner_text() and page.get_attribute("#patterns", "aria-invalid") == "true"
    page.screenshot(path=str(artifacts_dir / f"console-reply-rule-{backend}.png"), full_page=True)

    page.fill("#patterns", "新人\n^new$")
    page.click("#save")
    page.wait_for_selector("#rules")
    [rule] = client.get("/api/replies/rules", headers=workspace.bearer()).json()["items"]
    assert (rule["name"], rule["match"], rule["patterns"], rule["priority"]) == (
        "新人礼", "regex", ["新人", "^new$"], 10)

    oa = platform(client, workspace.id)
    assert oa.reply(oa.push(oa.text("oA", "我是新人")))["Content"] == "亲，回复「领取」拿新人礼"
    page.reload()
    assert page.inner_text(f"#rules tr[data-id='{rule['id']}'] td.matches") == "1"
    page.click(f"#rules tr[data-id='{rule['id']}'] button.toggle")
    page.wait_for_function(
        f"document.querySelector(\"#rules tr[data-id='{rule['id']}'] td.status\").textContent === '已关闭'")
    assert client.get(f"/api/replies/rules/{rule['id']}", headers=workspace.bearer()).json()["enabled"] is False
    assert oa.push(oa.text("oB", "我是新人")).text == "success"  # switched off: no answer

    page.fill("#welcome-wechat-content", '{"msgtype": "text", "text": {"content": "欢迎关注完子心选"}}')
    page.click("#welcome-wechat .save-welcome")
    page.wait_for_function(
        "document.querySelector(\"[data-platform='wechat'] .welcome-status\").textContent === '已开启'")
    assert oa.reply(oa.push(oa.event("oNew", "subscribe")))["Content"] == "欢迎关注完子心选"
    page.screenshot(path=str(artifacts_dir / f"console-replies-{backend}.png"), full_page=True)
