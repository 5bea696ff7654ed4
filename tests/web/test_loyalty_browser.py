"""Loyalty in a real browser (Debian's chromium through Playwright): save the starter ladder, add a
tier, see a refusal for a ladder that does not rise, fix it; add an event rule on the points page;
then open a customer's page, read their member summary (tier, progress, points, the next expiry) and
follow its link to their tier and points history — each outcome checked through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu import clock
from siyu.loyalty.models import Expiry
from siyu.runtime import Runtime
from tests.journeys.scenario import person
from tests.loyalty.helpers import NOW, earn
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_edit_the_ladder_and_the_points_rules_then_see_a_member(browser, live_server: str,  # noqa: F811
                                                                runtime: Runtime, client, workspace,  # noqa: ANN001
                                                                artifacts_dir: Path, backend: str) -> None:
    email = f"loyalty-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/loyalty")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-programme")
    page.click("#add-tier")
    row = "#tiers tbody tr:nth-child(4)"
    page.fill(f"{row} [data-key=name]", "钻石卡")
    page.fill(f"{row} [data-key=threshold]", "100")  # below gold: refused
    page.fill("#grace-days", "14")
    page.click("#save")
    refusal = page.wait_for_selector("#form-error:not(:empty)")
    assert "rise" in refusal.inner_text()
    page.fill(f"{row} [data-key=threshold]", "20000")
    page.fill(f"{row} [data-key=points_multiplier]", "300")
    page.check(f"{row} [data-key=priority_service]")
    page.click("#save")
    page.wait_for_selector("#no-programme", state="detached")
    programme = client.get("/api/loyalty/programme", headers=workspace.bearer()).json()
    assert [(t["name"], t["threshold"]) for t in programme["tiers"]][-1] == ("钻石卡", 20000)
    assert programme["tiers"][-1]["priority_service"] is True and programme["grace_days"] == 14
    page.screenshot(path=str(artifacts_dir / f"console-loyalty-tiers-{backend}.png"), full_page=True)
    page.click("#loyalty-nav a[href='/loyalty/points']")
    page.wait_for_selector("#event-rules")
    page.click("#add-event-rule")
    page.fill("#event-rules tbody tr:last-child [data-key=event]", "Checked In")
    page.fill("#event-rules tbody tr:last-child [data-key=points]", "5")
    page.fill("#event-rules tbody tr:last-child [data-key=daily_cap]", "5")
    page.fill("#per-yuan", "2")
    with page.expect_navigation():  # a saved programme reloads the page
        page.click("#save")
    page.wait_for_selector("#event-rules tbody tr")
    programme = client.get("/api/loyalty/programme", headers=workspace.bearer()).json()
    assert programme["earning"]["events"] == [{"event": "Checked In", "points": 5, "daily_cap": 5}]
    assert programme["earning"]["per_yuan"] == 2 and programme["grace_days"] == 14  # the tiers page's part kept
    lina = person(client, workspace, "browser-lina", name="李娜")
    clock.freeze(NOW)
    earn(runtime, workspace, lina, 250, "browser-earn", expiry=Expiry(mode="rolling", days=30))
    clock.unfreeze()
    page.goto(f"{live_server}/profiles/{lina}")  # the customer page: the member summary, then the full view
    page.wait_for_selector("#loyalty-summary")
    assert page.inner_text("#summary-tier") == "普卡" and page.inner_text("#summary-balance") == "250"
    assert page.inner_text("#summary-expiring") == "250" and "2026年12月30日" in page.inner_text("#summary-expires-at")
    assert page.inner_text("#summary-next-tier") == "再 1,000 升至银卡"
    page.screenshot(path=str(artifacts_dir / f"console-loyalty-profile-summary-{backend}.png"), full_page=True)
    with page.expect_navigation():
        page.click("#loyalty-link a")
    assert page.url.endswith(f"/loyalty/members/{lina}")
    page.wait_for_selector("#points-history")
    assert page.inner_text("#balance") == "250" and page.inner_text("#tier-name") == "普卡"
    page.screenshot(path=str(artifacts_dir / f"console-loyalty-member-{backend}.png"), full_page=True)
