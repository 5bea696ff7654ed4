"""Broadcasts in a real browser (Debian's chromium through Playwright): compose, see a refusal beside
its field, preview, schedule, test-send, and find the broadcast in the list with its figures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.worker import run_pass
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import SECRET, configure
from tests.web.test_broadcast_pages import _segment
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user, customers, profile_of

pytestmark = pytest.mark.browser


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    sink = WebhookSink(SECRET)
    yield sink
    sink.stop()


def test_compose_preview_schedule_test_send_and_list_a_broadcast(browser, live_server: str,  # noqa: F811
                                                                 runtime: Runtime, workspace, hook: WebhookSink,
                                                                 artifacts_dir: Path, backend: str) -> None:
    email = f"broadcasts-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)  # 李娜 has granted marketing SMS, 王芳 has not
    configure(runtime, workspace.id, hook_url=hook.url)
    _segment(runtime, workspace.id)
    with write(runtime.engine) as conn:
        li_na = profile_of(conn, workspace.id, "m1")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/broadcasts")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-broadcasts")
    page.click("#new-broadcast")
    page.wait_for_selector("#composer")

    page.fill("#name", "双11预热")
    page.select_option("#channel", "sms")
    assert page.is_visible("#sms-template") and not page.is_visible("#email-subject")
    page.fill("#sms-sign", "完美日记")
    page.fill("#sms-params", "name=李娜")
    page.click("#schedule")  # no template code: the API's refusal appears beside that field
    refusal = page.locator(".field-error[data-for='content.template_code']")
    refusal.wait_for(state="visible")
    assert "template_code" in refusal.inner_text()
    assert page.get_attribute("#sms-template", "aria-invalid") == "true"
    page.fill("#sms-template", "SMS_123456789")
    page.wait_for_function("document.getElementById('content-json').textContent.includes('SMS_123456789')")

    page.click("#preview")
    page.wait_for_selector("#verdicts tbody tr[data-verdict='stop:policy.no_consent']")
    assert page.inner_text("#audience") == "2" and page.inner_text("#would-send") == "1"
    assert "未授权营销" in page.inner_text("#verdicts tbody tr[data-verdict='stop:policy.no_consent']")
    page.wait_for_function("document.getElementById('sample').textContent.includes('SMS_123456789')")
    assert page.inner_text("#sample-profile").startswith("#")
    page.screenshot(path=str(artifacts_dir / f"console-broadcast-composer-{backend}.png"), full_page=True)

    page.select_option("#channel", "webhook")
    page.fill("#webhook-body", '{"campaign": "1111"')
    assert page.inner_text(".field-error[data-for='content']") == "不是有效的 JSON"
    page.fill("#webhook-body", '{"campaign": "1111", "greeting": "{{ profile.traits.name }}"}')
    page.click("#preview")  # filled in for the segment's first member, 李娜
    page.wait_for_function("document.getElementById('sample').textContent.includes('李娜')")
    assert page.is_hidden("#sample-literal")
    page.uncheck("#personalise")  # as written: the braces go out as they are, and the sample says so
    page.click("#preview")
    page.wait_for_function("document.getElementById('sample').textContent.includes('profile.traits.name')")
    assert page.is_visible("#sample-literal")
    page.check("#personalise")
    page.check("input[name=when][value=at]")
    page.fill("#send-at", "2030-01-01T10:00")
    page.fill("#rate", "600")
    page.fill("#goal-event", "Order Completed")
    page.fill("#goal-within", "soon")
    page.fill("#holdout", "10")
    page.click("#schedule")  # the window's refusal appears beside the goal
    page.wait_for_function("document.querySelector(\".field-error[data-for='goal']\").textContent !== ''")
    page.fill("#goal-within", "3d")
    page.click("#schedule")
    page.wait_for_selector("h1#broadcast-name")
    assert page.inner_text("#broadcast-name") == "双11预热" and page.inner_text("#status") == "已预约"
    assert "2030年1月1日 10:00" in page.inner_text("main")  # the workspace's wall clock, not the browser's
    assert page.is_visible("#personalised") and "{{ profile.traits.name }}" in page.inner_text("#content")
    assert "Order Completed" in page.inner_text("#goal") and page.inner_text("#lift") == "—"

    page.fill("#test-profiles", "abc")
    page.click("#test-send button[type=submit]")
    page.wait_for_function("document.getElementById('test-error').textContent !== ''")
    page.fill("#test-profiles", f"#{li_na}")
    page.click("#test-send button[type=submit]")
    page.wait_for_selector("#test-result:not([hidden])")
    assert page.inner_text("#test-count") == "1" and page.inner_text("#test-error") == ""
    run_pass(runtime)
    assert [body["profile_id"] for _, body in hook.deliveries] == [li_na]
    assert hook.deliveries[0][1]["payload"] == {"campaign": "1111", "greeting": "李娜"}

    page.click("header nav >> text=群发")
    rows = page.locator("#broadcasts tbody tr")
    assert rows.count() == 1
    assert "双11预热" in rows.first.inner_text() and "已预约" in rows.first.inner_text()
    page.screenshot(path=str(artifacts_dir / f"console-broadcasts-{backend}.png"), full_page=True)
    rows.first.locator("a").click()
    page.wait_for_selector("#cancel")
    page.click("#cancel")
    page.wait_for_function("document.getElementById('status').textContent === '已取消'")
