"""The report pages in a real browser (Debian's chromium through Playwright): the charts render."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.analytics.test_reports_scenario import open_shop, shop
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_the_retention_heat_map_the_funnel_and_every_report_chart_render(
    browser,  # noqa: F811
    live_server: str,
    runtime: Runtime,
    workspace,  # noqa: F811
    artifacts_dir: Path,
    backend: str,
) -> None:
    email = f"reports-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    from tests.analytics.test_reports_funnel import week

    open_shop(runtime, workspace.id, week() + shop())
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/reports")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#chart canvas")  # the AARRR overview
    assert "AARRR" in page.inner_text("h1")
    page.click("#report-nav >> text=留存")
    page.wait_for_selector("#report-form")
    page.fill("input[name=from]", "2024-03-04")
    page.fill("input[name=to]", "2024-03-20")
    page.select_option("select[name=breakdown]", "channel")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#chart canvas")
    assert "小红书" in page.inner_text("#retention-table")
    page.select_option("#metric", "after")
    page.wait_for_selector("#chart canvas")
    page.screenshot(path=str(artifacts_dir / f"console-report-retention-{backend}.png"), full_page=True)

    page.click("#report-nav >> text=漏斗")
    page.wait_for_selector("#report-form")
    boxes = page.locator("input[name=step]")
    boxes.nth(0).fill("Page Viewed")
    boxes.nth(1).fill("Product Viewed")
    boxes.nth(2).fill("Order Completed")
    page.fill("input[name=from]", "2024-03-01")
    page.fill("input[name=to]", "2024-03-20")
    page.fill("input[name=breakdown]", "channel")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#chart canvas")
    assert "Page Viewed" in page.inner_text("#funnel-table") and "44.4%" in page.inner_text("#funnel-table")
    page.screenshot(path=str(artifacts_dir / f"console-report-funnel-{backend}.png"), full_page=True)

    for name in ("activity", "revenue", "repurchase", "channels"):
        page.goto(f"{live_server}/reports/{name}?from=2024-02-01&to=2024-03-20")
        page.wait_for_selector("#chart canvas")
        page.screenshot(path=str(artifacts_dir / f"console-report-{name}-{backend}.png"), full_page=True)

    # Channel spend: entered in the form, refused with the reason beside it, shown in the report, removed.
    page.fill("#spend-form input[name=channel]", "douyin")
    page.fill("#spend-form input[name=month]", "2024-03")
    page.fill("#spend-form input[name=amount]", "六百")
    page.click("#spend-form button[type=submit]")
    page.wait_for_selector("#spend-error")
    assert "金额" in page.inner_text("#spend-error")
    assert page.input_value("#spend-form input[name=channel]") == "douyin"  # kept, to correct the amount
    page.fill("#spend-form input[name=amount]", "600")
    page.click("#spend-form button[type=submit]")
    page.wait_for_selector("#spend-table")
    assert page.locator("#spend-error").count() == 0
    assert "抖音" in page.inner_text("#spend-table") and "¥600.00" in page.inner_text("#channels-table")
    assert page.input_value("input[name=from]") == "2024-02-01"  # back on the same range
    page.screenshot(path=str(artifacts_dir / f"console-report-channel-spend-{backend}.png"), full_page=True)
    page.click("#spend-table button.remove")
    page.wait_for_selector("#no-spend")
    assert "¥600.00" not in page.inner_text("#channels-table")
