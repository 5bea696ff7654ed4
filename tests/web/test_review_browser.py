"""The review queue in a real browser (Debian's chromium through Playwright): an operator sees why
an invite was held, approves one with a note and rejects another with the buttons, and the API
agrees afterwards; a browser asking for English gets the reasons and statuses in English."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.growth.test_fraud_api import decided
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_approve_and_reject_held_invites(browser, live_server: str, runtime: Runtime, client,  # noqa: ANN001, F811
                                         workspace, artifacts_dir: Path, backend: str) -> None:
    email = f"reviews-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    first, second = decided(runtime, workspace, "b1"), decided(runtime, workspace, "b2")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/growth/reviews")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#reviews")
    assert "风控审核" in page.inner_text("header nav")
    held = page.locator(f'#reviews tr[data-id="{first}"]')
    assert "同一设备上被邀请人过多" in held.inner_text()
    page.screenshot(path=str(artifacts_dir / f"console-reviews-{backend}.png"), full_page=True)

    held.locator(".note").fill("同一家人, 共用手机")
    held.locator("button.approve").click()
    page.wait_for_selector(f'#reviews tr[data-id="{first}"][data-reviewed="approved"]')
    assert held.locator(".status").inner_text() == "已通过"
    other = page.locator(f'#reviews tr[data-id="{second}"]')
    other.locator("button.reject").click()
    page.wait_for_selector(f'#reviews tr[data-id="{second}"][data-reviewed="rejected"]')

    one = client.get(f"/api/growth/reviews/{first}", headers=workspace.bearer()).json()
    assert (one["review_status"], one["review_note"]) == ("approved", "同一家人, 共用手机")
    assert one["reviewed_by"].startswith("user:")
    assert client.get(f"/api/growth/reviews/{second}", headers=workspace.bearer()).json()["review_status"] == "rejected"
    page.reload()
    page.wait_for_selector("#no-reviews")
    page.click('#review-tabs a[data-tab="all"]')
    page.wait_for_selector("#reviews")
    assert page.locator("#reviews tbody tr").count() == 2

    english = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    english.goto(f"{live_server}/login?next=/growth/reviews%3Fstatus%3Dall")
    english.fill("#email", email)
    english.fill("#password", PASSWORD)
    english.click("button[type=submit]")
    english.wait_for_selector("#reviews")
    text = english.inner_text("#reviews")
    assert "Many invitees on one device" in text and "Approved" in text and "Review queue" in english.inner_text("h1")
