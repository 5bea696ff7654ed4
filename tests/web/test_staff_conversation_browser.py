"""The conversation on a customer's page in a real browser (Debian's chromium through Playwright):
what they wrote through the official account, a reply sent from the box and queued in the outbox,
and, once the 48-hour window has closed (siyu.clock, no sleeping), the box replaced by the policy's reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from siyu import clock
from siyu.db.engine import read
from siyu.messaging import store as messaging_store
from siyu.runtime import Runtime
from tests.staff.platforms import APP, platforms
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_read_and_reply_inside_the_window_then_see_why_not_after(browser, live_server: str,  # noqa: F811
                                                                 runtime: Runtime, client, workspace,  # noqa: ANN001
                                                                 artifacts_dir: Path, backend: str) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        fake.wechat_push.push(fake.wechat_push.follow("oTalk1"))
        clock.advance(timedelta(minutes=5))
        fake.wechat_push.push(fake.wechat_push.text("oTalk1", "请问面膜怎么用？"))
        person = fake.profile_of(client, workspace, f"wechat_openid:{APP}", "oTalk1")
    email = f"talk-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/profiles/{person}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#conversation li")
    assert page.locator("#conversation li[data-direction='in'] .text").all_inner_texts() == ["请问面膜怎么用？"]
    assert "10:05" in page.inner_text("#conversation li[data-direction='in'] .muted")  # Shanghai time
    assert page.is_visible("#reply-form") and page.is_hidden("#reply-refused")

    page.fill("#reply-text", "洁面后敷 15 分钟即可")
    page.click("#send-reply")
    page.wait_for_selector("#conversation li[data-direction='out']")
    assert page.locator("#conversation li .text").all_inner_texts() == ["请问面膜怎么用？", "洁面后敷 15 分钟即可"]
    with read(runtime.engine) as conn:
        [queued] = messaging_store.of_profile(conn, workspace.id, person, limit=10)
    assert (queued.channel.value, queued.source, queued.payload["text"]["content"]) == (
        "wechat_cs", "staff", "洁面后敷 15 分钟即可")
    page.screenshot(path=str(artifacts_dir / f"console-conversation-{backend}.png"), full_page=True)

    page.fill("#reply-text", "还在吗？")
    clock.advance(timedelta(hours=49))  # the window closed while the page was open: the API refuses
    page.click("#send-reply")
    page.wait_for_selector("#reply-refused:not([hidden])")
    assert page.get_attribute("#reply-refused", "data-reason") == "policy.outside_window"
    assert "超出 48 小时窗口" in page.inner_text("#reply-refused") and page.is_hidden("#reply-form")
    page.reload()
    page.wait_for_selector("#reply-refused:not([hidden])")
    assert "超出 48 小时窗口" in page.inner_text("#reply-refused") and page.is_hidden("#reply-form")
    with read(runtime.engine) as conn:
        assert len(messaging_store.of_profile(conn, workspace.id, person, limit=10)) == 1
