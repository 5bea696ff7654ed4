"""Distribution in a real browser (Debian's chromium through Playwright): add a staff promoter and a
KOC under them through the forms, see a third level refused with its legal reason, save a plan in
the rules editor, pay confirmed commissions from the ledger, read the pages in English, and open a
promoter's mobile personal page — each outcome checked through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.growth.test_distribution_steps import follow, order, person, process, promoter, staff_member
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD

pytestmark = pytest.mark.browser


def test_promoters_plan_and_payout_through_the_console(browser, live_server: str, runtime: Runtime,  # noqa: F811
                                                       client, workspace, artifacts_dir: Path,  # noqa: ANN001
                                                       backend: str) -> None:
    clock.freeze(datetime(2026, 11, 2, 4, 0, tzinfo=UTC))
    email = f"owner-{workspace.name}@brand.cn"
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD, display_name="老板")
        workspace_store.add_member(conn, workspace.id, user.id, Role.OWNER)
    auth = workspace.bearer()
    staff_member(client, workspace, "zhou", "周店长")
    koc_profile = person(client, workspace, "小鹿")
    other = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "阿青"))

    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/distribution")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#promoter-form")
    assert page.is_hidden("#promoter-profile")
    page.fill("#promoter-landing", "https://shop.example.com/")
    page.click("#add-promoter")
    page.wait_for_selector("h1#promoter-name")
    assert page.inner_text("h1#promoter-name") == "周店长"
    lead = client.get("/api/promoters", headers=auth, params={"kind": "staff"}).json()[0]
    assert (lead["name"], lead["landing_url"]) == ("周店长", "https://shop.example.com/")

    page.goto(f"{live_server}/distribution")
    page.select_option("#promoter-kind", "koc")
    page.fill("#promoter-profile", str(koc_profile))
    page.select_option("#promoter-parent", str(lead["id"]))
    page.click("#add-promoter")
    page.wait_for_selector("h1#promoter-name")
    koc = next(p for p in client.get("/api/promoters", headers=auth).json() if p["profile_id"] == koc_profile)
    assert (koc["name"], koc["parent_id"]) == ("小鹿", lead["id"])

    # The lead has a recruit: giving the lead a parent would make a third level, refused with the law.
    page.goto(f"{live_server}/distribution/promoters/{lead['id']}")
    page.select_option("#parent-select", str(other["id"]))
    page.click("#save-parent")
    page.wait_for_function("document.getElementById('parent-error').textContent.length > 0")
    assert "禁止传销条例" in page.inner_text("#parent-error")
    assert client.get(f"/api/promoters/{lead['id']}", headers=auth).json()["parent_id"] is None

    page.goto(f"{live_server}/distribution/rules")
    page.fill("#level1-default", "10")
    page.fill("#level1-rates", "category 护肤 15")
    page.fill("#level2-default", "2")
    page.fill("#refund-days", "7")
    page.click("#save-plan")
    page.wait_for_selector("#saved")
    plan = client.get("/api/commissions/plan", headers=auth).json()
    assert [lv["default_rate"] for lv in plan["levels"]] == ["0.1", "0.02"]
    assert plan["levels"][0]["rates"] == [{"category": "护肤", "rate": "0.15"}]
    page.screenshot(path=str(artifacts_dir / f"console-distribution-rules-{backend}.png"), full_page=True)

    person(client, workspace, "buyer")
    ref, _, _ = follow(client, koc["token"])
    clock.advance(timedelta(days=3))
    order(client, workspace, "B1", 200, user_id="buyer", siyu_ref=ref,
          products=[{"product_id": "S1", "category": "护肤", "price": 200}])
    process(client, workspace)
    clock.advance(timedelta(days=8))
    assert process(client, workspace)["confirmed"] == 2

    page.goto(f"{live_server}/distribution/ledger")
    page.wait_for_selector("#ledger")
    assert page.locator("#ledger tr[data-status='confirmed']").count() == 2
    page.click("#pay")
    page.wait_for_selector("#payouts")
    assert page.locator("#ledger tr[data-status='paid']").count() == 2
    [payout] = client.get("/api/commissions/payouts", headers=auth).json()
    assert (payout["total_fen"], payout["entries"]) == (3000 + 400, 2)
    page.screenshot(path=str(artifacts_dir / f"console-distribution-ledger-{backend}.png"), full_page=True)
    page.select_option("#locale", "en")
    page.wait_for_selector("text=Commission ledger")
    assert "Paid" in page.inner_text("#ledger")

    mobile = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844})
    mobile.goto(f"{live_server}/p/{koc['token']}/page")
    assert mobile.inner_text("#title") == "小鹿 为你推荐"
    mobile.wait_for_function("document.getElementById('qr').naturalWidth > 0")
    mobile.click("text=English")
    mobile.wait_for_selector("text=Recommended by 小鹿")
    mobile.screenshot(path=str(artifacts_dir / f"distribution-personal-page-{backend}.png"), full_page=True)
