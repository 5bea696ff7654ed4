"""A segment on the loyalty tier, built in the console's segment builder in a real browser (Debian's
chromium through Playwright): "tier at least 金卡" counts the gold members, and the saved segment holds
them."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.loyalty import service
from siyu.loyalty import store as loyalty_store
from siyu.runtime import Runtime
from tests.loyalty.helpers import LADDER
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user, customers, profile_of

pytestmark = pytest.mark.browser


def _ladder_with_members(runtime: Runtime, workspace_id: int) -> None:
    """李娜 holds 金卡 with 800 points; 王芳 holds 银卡 with 50."""
    customers(runtime, workspace_id)
    with write(runtime.engine) as conn:
        service.set_programme(conn, workspace_id, {"tiers": LADDER}, now=clock.now())
        for user, rank, balance in (("m1", 2, 800), ("m2", 1, 50)):
            profile = profile_of(conn, workspace_id, user)
            loyalty_store.lock_member(conn, workspace_id, profile, clock.now())
            loyalty_store.update_member(conn, workspace_id, profile, clock.now(), tier_rank=rank,
                                        points_balance=balance)


def test_build_tier_at_least_gold_in_the_console(browser, live_server: str, runtime: Runtime,  # noqa: F811
                                                 workspace, artifacts_dir: Path, backend: str) -> None:
    email = f"tiers-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    _ladder_with_members(runtime, workspace.id)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/segments")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#builder")
    row = page.locator("#conditions .condition").first
    row.locator("select.kind").select_option(label="会员")
    row.locator("select.key").select_option(label="等级")
    row.locator("select.op").select_option(label="大于或等于")
    assert row.locator("select.value option").all_inner_texts() == [t["name"] for t in LADDER]  # the ladder offered
    row.locator("select.value").select_option("金卡")
    page.wait_for_function("document.getElementById('definition').value.includes('金卡')")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    row.locator("select.value").select_option("银卡")  # 银卡 and above
    page.wait_for_function("document.getElementById('count').textContent === '2'")
    row.locator("select.value").select_option("金卡")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    page.click("#add-condition")
    second = page.locator("#conditions .condition").nth(1)
    second.locator("select.kind").select_option(label="会员")
    second.locator("select.key").select_option(label="积分余额")
    second.locator("select.op").select_option(label="大于或等于")
    second.locator("input.value").fill("1000")
    page.wait_for_function("document.getElementById('count').textContent === '0'")
    second.locator("input.value").fill("500")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    page.screenshot(path=str(artifacts_dir / f"console-segment-tier-{backend}.png"), full_page=True)
    page.fill("#new-segment-name", "金卡高积分")
    page.click("#save button[type=submit]")
    page.wait_for_selector("h1#segment-name")
    assert page.inner_text("#segment-name") == "金卡高积分"
    assert page.inner_text("#count") == "1" and page.inner_text("#size") == "1"
