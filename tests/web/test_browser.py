"""The console in a real browser: Debian's chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.conftest import IN_CI
from tests.web.test_pages import PASSWORD, console_user, customers

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():  # noqa: ANN201
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true but /usr/bin/chromium is missing: .ci/run installs Debian's chromium.")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def test_log_in_search_open_a_profile_and_switch_language(browser, live_server: str, runtime: Runtime,
                                                          workspace, artifacts_dir: Path, backend: str) -> None:
    email = f"browser-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/")
    assert "/login" in page.url
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#chart canvas")
    assert page.inner_text("#customers") == "2"
    assert "客户" in page.inner_text("header nav")
    page.screenshot(path=str(artifacts_dir / f"console-home-{backend}.png"), full_page=True)

    page.click("text=客户")
    page.fill("input[name=q]", "138 0013 8001")
    page.click("form.search button[type=submit]")
    rows = page.locator("#profiles tbody tr")
    assert rows.count() == 1 and "李娜" in rows.first.inner_text()
    page.screenshot(path=str(artifacts_dir / f"console-customers-{backend}.png"))

    rows.first.locator("a").click()
    page.wait_for_selector("#identities")
    assert page.inner_text("#profile-name") == "李娜"
    assert "+8613800138001" in page.inner_text("#identities")
    assert "Order Completed" in page.inner_text("#timeline")

    assert "口红爱好者" in page.inner_text("#tags") and "已同意" in page.inner_text("#consent")
    page.screenshot(path=str(artifacts_dir / f"console-profile-{backend}.png"), full_page=True)

    page.select_option("#locale", "en")
    page.wait_for_selector("text=Identities")
    assert "Customers" in page.inner_text("header nav") and "客户" not in page.inner_text("header nav")
    assert "Granted" in page.inner_text("#consent")
    page.screenshot(path=str(artifacts_dir / f"console-profile-en-{backend}.png"), full_page=True)
    page.click("header nav >> text=Home")
    page.wait_for_selector("#chart canvas")
    assert "New today" in page.inner_text("main")
    assert os.path.getsize(artifacts_dir / f"console-home-{backend}.png") > 10_000


def test_the_console_fits_a_phone(browser, live_server: str, runtime: Runtime, workspace,
                                  artifacts_dir: Path, backend: str) -> None:
    email = f"phone-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)
    page = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                            is_mobile=True, has_touch=True)
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#chart canvas")
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / f"console-home-phone-{backend}.png"), full_page=True)
    page.goto(f"{live_server}/profiles")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts_dir / f"console-customers-phone-{backend}.png"), full_page=True)
