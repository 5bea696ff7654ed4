"""The segment builder and the scores page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user, customers

pytestmark = pytest.mark.browser


def test_build_a_segment_watch_the_count_save_it_and_read_the_scores(browser, live_server: str,  # noqa: F811
                                                                    runtime: Runtime, workspace,
                                                                    artifacts_dir: Path, backend: str) -> None:
    email = f"segments-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)  # 李娜 (one order, tagged 口红爱好者) and 王芳
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/segments")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#builder")
    row = page.locator("#conditions .condition").first
    row.locator("select.kind").select_option("tag")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    row.locator("select.op").select_option("has_not")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    page.click("#add-condition")
    second = page.locator("#conditions .condition").nth(1)
    second.locator("select.kind").select_option("trait")
    second.locator("input.key").fill("name")
    second.locator("input.value").fill("王芳")
    page.wait_for_function("document.getElementById('definition').value.includes('王芳')")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    second.locator("select.op").select_option("ne")
    page.wait_for_function("document.getElementById('count').textContent === '0'")
    second.locator("select.op").select_option("eq")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    page.screenshot(path=str(artifacts_dir / f"console-segment-builder-{backend}.png"), full_page=True)
    page.fill("#new-segment-name", "非口红爱好者")
    page.click("#save button[type=submit]")
    page.wait_for_selector("h1#segment-name")
    assert page.inner_text("#segment-name") == "非口红爱好者"
    assert page.inner_text("#count") == "1" and page.inner_text("#size") == "1"
    page.wait_for_selector("#chart canvas")
    page.screenshot(path=str(artifacts_dir / f"console-segment-{backend}.png"), full_page=True)

    page.click("header nav >> text=RFM 与生命周期")
    page.wait_for_selector("#lifecycle-chart canvas")
    assert "重要价值客户" in page.inner_text("#rfm-segments")
