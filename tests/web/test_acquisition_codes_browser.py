"""Channel codes in a real browser (Debian's chromium through Playwright): create an official-account
code through the form, see the API's refusal beside the field it names, and land on the code's page
with its QR image, downloads and the daily chart after a real signed follow callback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from siyu import clock
from siyu.runtime import Runtime
from tests.staff.platforms import platforms
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_create_a_channel_code_in_the_form_and_open_its_page(browser, live_server: str,  # noqa: F811
                                                              runtime: Runtime, client, workspace,  # noqa: ANN001
                                                              artifacts_dir: Path, backend: str) -> None:
    clock.freeze(datetime(2026, 11, 30, 4, 0, tzinfo=UTC))
    email = f"codes-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    with platforms(runtime, client, workspace) as fake:
        page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server}/login?next=/codes")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#no-codes")
        page.click("#new-code")
        page.wait_for_selector("#code-form")
        assert page.is_hidden("#staff") and page.is_visible("#expire-days")
        page.select_option("#kind", "wecom_contact")
        assert page.is_visible("#staff") and page.is_hidden("#expire-days")
        page.select_option("#kind", "wechat_qr")

        page.fill("#name", "天猫包裹卡")
        page.fill("#key", "天猫卡")  # not a valid scene string: the API says so beside the field
        page.fill("#caption", "扫码关注领红包")
        page.fill("#expire-days", "7")
        page.fill("#welcome", "欢迎来到完子心选！")
        page.fill("#tags", "渠道:天猫包裹卡, 新客")
        page.fill("#reward-cash", "1.88")
        page.fill("#reward-wishing", "感谢关注")
        page.click("#create")
        refusal = page.locator(".field-error[data-for='key']")
        refusal.wait_for(state="visible")
        assert "1-30 letters" in refusal.inner_text()
        assert page.get_attribute("#key", "aria-invalid") == "true"
        page.screenshot(path=str(artifacts_dir / f"console-channel-code-form-{backend}.png"), full_page=True)

        page.fill("#key", "tmall_card")
        page.click("#create")
        page.wait_for_selector("h1#code-name")
        code_id = int(page.url.rstrip("/").split("/")[-1])
        code = client.get(f"/api/channel-codes/{code_id}", headers=workspace.bearer()).json()
        assert (code["key"], code["name"], code["caption"]) == ("tmall_card", "天猫包裹卡", "扫码关注领红包")
        assert code["welcome"] == {"text": "欢迎来到完子心选！"} and code["tags"] == ["渠道:天猫包裹卡", "新客"]
        assert code["ready"] and code["expires_at"].startswith("2026-12-07")
        assert code["reward"] == {"cash_fen": 188, "wishing": "感谢关注"}
        assert "1.88" in page.inner_text("#code-reward")
        assert fake.wechat.qrcodes[code["ticket"]]["expire_seconds"] == 7 * 86400

        fake.wechat_push.push(fake.wechat_push.follow("oBrowser1", scene="tmall_card"))
        page.reload()
        page.wait_for_selector("#chart canvas")
        assert page.inner_text("#total-follows") == "1"
        assert page.evaluate("document.getElementById('qr').naturalWidth") > 0  # the QR really loaded
        assert page.locator("#downloads a").count() == 3
        page.screenshot(path=str(artifacts_dir / f"console-channel-code-{backend}.png"), full_page=True)

        page.click("text=渠道活码")
        page.wait_for_selector("#codes")
        assert page.inner_text(f"#codes tr[data-id='{code_id}'] td.follows") == "1"
