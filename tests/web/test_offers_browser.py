"""Offers in a real browser (Debian's chromium through Playwright): create a threshold coupon in the
form, see the API's refusal beside the field it names, fix it, land on the offer's page, see claims
made meanwhile in its figures and chart, and stop issuing with its button — each outcome checked
through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.offers.helpers import claim
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_create_a_coupon_fix_the_refused_field_watch_claims_and_stop_it(browser, live_server: str,  # noqa: F811
                                                                         runtime: Runtime, client, workspace,  # noqa: ANN001
                                                                         artifacts_dir: Path, backend: str) -> None:
    email = f"offers-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/offers")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-offers")
    page.click("#new-offer")
    page.select_option("#kind", "threshold")
    assert page.is_hidden("#points") and page.is_visible("#threshold")
    page.fill("#name", "满100减20")
    page.fill("#stock", "50")
    page.fill("#per-person-limit", "2")
    page.fill("#threshold", "100")
    page.fill("#amount", "120")  # more off than the threshold: refused, beside the amount
    page.fill("#valid-days", "7")
    page.click("#create")
    refusal = page.wait_for_selector('.field-error[data-for="amount_fen"]:not(:empty)')
    assert "amount_fen" in refusal.inner_text()
    page.screenshot(path=str(artifacts_dir / f"console-offer-form-{backend}.png"), full_page=True)
    page.fill("#amount", "20")
    page.click("#create")
    page.wait_for_selector("#offer-name")
    offer_id = int(page.url.rstrip("/").split("/")[-1])
    offer = client.get(f"/api/offers/{offer_id}", headers=workspace.bearer()).json()
    assert (offer["kind"], offer["threshold_fen"], offer["amount_fen"], offer["valid_days"]) == ("threshold", 10000,
                                                                                                 2000, 7)
    for n in range(3):
        claim(runtime, workspace, offer_id, 100 + n, f"browser-{n}")
    page.reload()
    page.wait_for_selector("#chart canvas")
    assert page.inner_text("#figure-claimed") == "3" and page.inner_text("#figure-remaining") == "47"
    assert len(page.query_selector_all("#claims tbody tr")) == 3
    page.screenshot(path=str(artifacts_dir / f"console-offer-{backend}.png"), full_page=True)
    page.click("#end-offer")
    page.wait_for_selector("#end-offer", state="detached")
    assert page.inner_text("#offer-status") == "已结束"
    assert client.get(f"/api/offers/{offer_id}", headers=workspace.bearer()).json()["status"] == "ended"
