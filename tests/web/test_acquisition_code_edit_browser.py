"""Editing a channel code's rules in a real browser (Debian's chromium through Playwright): the form
shows the code's routing, welcome, tags, reward and expiry; a refusal appears beside its field; the
saved rules are the code's, and the new routing is pushed to (fake) WeCom."""

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

CODE = {"kind": "wecom_contact", "key": "xhs_note", "name": "小红书笔记",
        "routing": {"strategy": "round_robin", "staff": [{"userid": "wanzi_a"}]},
        "welcome": {"text": "你好呀"}, "tags": ["渠道:小红书"], "reward": {"cash_fen": 188, "wishing": "谢谢"}}


def test_edit_a_codes_rules_in_the_form(browser, live_server: str, runtime: Runtime, client,  # noqa: ANN001, F811
                                        workspace, artifacts_dir: Path, backend: str) -> None:
    clock.freeze(datetime(2026, 11, 30, 4, 0, tzinfo=UTC))
    email = f"edit-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email, locale="en")
    auth = workspace.bearer()
    with platforms(runtime, client, workspace) as fake:
        created = client.post("/api/channel-codes", headers=auth, json=CODE)
        assert created.status_code == 201, created.text
        code = created.json()
        page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 1000})
        page.goto(f"{live_server}/login?next=/codes/{code['id']}")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.click("#edit-code")
        page.wait_for_selector("#code-edit-form")
        assert page.input_value("#welcome") == "你好呀" and page.input_value("#tags") == "渠道:小红书"
        assert page.input_value("#reward-cash") == "1.88" and page.input_value("#staff").strip() == "wanzi_a"
        assert "Save changes" in page.inner_text("#save")

        page.select_option("#strategy", "all")
        page.fill("#staff", "wanzi_a\nwanzi_b 2 50 09:00-21:00")
        page.fill("#fallback", "night_owl")
        page.fill("#welcome", "欢迎来到完子心选")
        page.fill("#tags", "渠道:小红书, 种草")
        page.fill("#expires-at", "2026-12-31T23:00")
        page.fill("#reward-cash", "0.5")  # below WeChat Pay's 1 yuan: refused beside the field
        page.click("#save")
        refusal = page.locator(".field-error[data-for='reward']")
        refusal.wait_for(state="visible")
        assert "1-200 yuan" in refusal.inner_text()
        assert page.get_attribute("#reward-cash", "aria-invalid") == "true"
        page.screenshot(path=str(artifacts_dir / f"console-channel-code-edit-{backend}.png"), full_page=True)

        page.fill("#reward-cash", "2.88")
        page.fill("#reward-budget", "500")
        page.click("#save")
        page.wait_for_selector("h1#code-name")
        assert page.url.rstrip("/").endswith(f"/codes/{code['id']}")
        saved = client.get(f"/api/channel-codes/{code['id']}", headers=auth).json()
        assert saved["welcome"] == {"text": "欢迎来到完子心选"} and saved["tags"] == ["渠道:小红书", "种草"]
        assert saved["reward"] == {"cash_fen": 288, "wishing": "谢谢", "budget_fen": 50000}
        assert saved["routing"]["staff"][1] == {"userid": "wanzi_b", "weight": 2, "daily_cap": 50,
                                                "hours": ["09:00", "21:00"]}
        assert (saved["routing"]["strategy"], saved["routing"]["fallback"]) == ("all", ["night_owl"])
        assert saved["expires_at"].startswith("2026-12-31T15:00")  # 23:00 in Shanghai
        assert fake.wecom.contact_ways[code["config_id"]]["user"] == ["wanzi_a", "wanzi_b"]
        assert "2.88" in page.inner_text("#code-reward")

        page.click("#edit-code")  # emptied fields remove the rules
        page.wait_for_selector("#code-edit-form")
        page.fill("#reward-cash", "")
        page.fill("#welcome", "")
        page.fill("#expires-at", "")
        page.click("#save")
        page.wait_for_selector("h1#code-name")
        cleared = client.get(f"/api/channel-codes/{code['id']}", headers=auth).json()
        assert (cleared["reward"], cleared["welcome"], cleared["expires_at"]) == (None, None, None)
