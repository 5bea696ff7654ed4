"""A hosted form in a real phone-sized browser (Debian's chromium through Playwright): the person
asks for a code, types it from the SMS (read off the fake Aliyun endpoint), ticks the consent box,
submits, and sees the thank-you; the page refuses to send a code before the box is ticked, and
speaks English when asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from siyu.channels.fakes import FakeAliyunSms
from siyu.db.engine import read
from siyu.db.tables import form_submissions
from siyu.runtime import Runtime
from tests.acquisition.test_forms import DEFINITION, aliyun, form  # noqa: F401 - fixtures
from tests.web.test_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_filling_in_a_form_on_a_phone(browser, live_server: str, runtime: Runtime, workspace: Any,  # noqa: F811
                                      form: dict[str, Any], aliyun: FakeAliyunSms,  # noqa: F811
                                      artifacts_dir: Path, backend: str) -> None:
    page = browser.new_page(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page.goto(f"{live_server}/f/{form['slug']}?utm_source=xhs_browser")
    assert page.inner_text("h1") == "领取双11新客礼"
    page.fill("#phone", "13912345678")
    page.click("#send")
    page.wait_for_selector("#message.error")
    assert page.inner_text("#message") == "请先勾选同意" and aliyun.received == []
    page.check("#consent")
    page.click("#send")
    page.wait_for_selector("#message.ok")
    assert page.inner_text("#message") == "验证码已发送" and page.is_disabled("#send")
    code = aliyun.received[-1].params["code"]
    page.fill("#code", code)
    page.fill("#f_name", "林娜")
    page.select_option("#f_skin_type", "油性")
    page.screenshot(path=str(artifacts_dir / f"form-filled-{backend}.png"), full_page=True)
    page.click("#submit")
    page.wait_for_function("document.getElementById('message').textContent.includes('提交成功')")
    assert page.is_disabled("#submit")
    with read(runtime.engine) as conn:
        [row] = conn.execute(select(form_submissions).where(form_submissions.c.workspace_id == workspace.id)).all()
    assert row.fields == {"name": "林娜", "skin_type": "油性"} and row.channel["source"] == "xhs_browser"
    assert row.consent["language"] == "zh" and row.user_agent

    english = browser.new_page(locale="en-US", viewport=PHONE, is_mobile=True)
    english.goto(f"{live_server}/f/{form['slug']}")
    assert english.inner_text("h1") == "Claim your Double 11 gift"
    assert "I agree to receive offers by SMS" in english.inner_text("label.consent")
    english.click("text=中文")
    english.wait_for_selector("html[lang=zh-CN]")
    assert english.inner_text("h1") == "领取双11新客礼"
