"""Campaigns in a real browser (Debian's chromium through Playwright): write a referral in the editor,
see a compliance finding with its reason when the wording rewards sharing to Moments, fix it, save
the draft, launch it from its dashboard, and watch its figures and funnel chart after an invite —
each outcome checked through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.growth.campaign_helpers import arrive, join, person
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_write_check_fix_save_launch_and_watch_a_referral(browser, live_server: str,  # noqa: F811
                                                          runtime: Runtime, client, workspace,  # noqa: ANN001
                                                          artifacts_dir: Path, backend: str) -> None:
    email = f"campaigns-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 1000})
    page.goto(f"{live_server}/login?next=/campaigns")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-campaigns")
    page.click("#new-campaign")
    assert '"inviter_reward"' in page.input_value("#rules")  # the referral's starter rules
    page.select_option("#kind", "assist")
    assert '"helpers_needed"' in page.input_value("#rules")
    page.select_option("#kind", "referral")
    page.fill("#name", "双十二老带新")
    page.fill("#operator-name", "悦妆旗舰店")
    page.fill("#starts", "2026-01-01T10:00")
    page.fill("#ends", "2036-01-01T10:00")
    page.fill("#budget", "100")
    page.fill("#description-zh", "分享到朋友圈即可领取优惠券")
    page.fill("#description-en", "Invite a friend; you both get a coupon after their first order.")
    page.click("#check")
    finding = page.wait_for_selector("#findings li.error")
    assert "诱导" in finding.inner_text() and "1.2" in finding.inner_text()
    page.screenshot(path=str(artifacts_dir / f"console-campaign-editor-{backend}.png"), full_page=True)
    page.fill("#description-zh", "邀请好友关注并完成首单，双方各得一张券。")
    page.click("#check")
    page.wait_for_selector("#no-findings:not([hidden])")
    page.click("#save")
    page.wait_for_selector("#campaign-name")
    campaign_id = int(page.url.rstrip("/").split("/")[-1])
    shown = client.get(f"/api/campaigns/{campaign_id}", headers=workspace.bearer()).json()
    assert (shown["status"], shown["budget_fen"], shown["operator"]["name"]) == ("draft", 10_000, "悦妆旗舰店")
    page.click("#launch")
    page.wait_for_selector("#end")
    assert client.get(f"/api/campaigns/{campaign_id}", headers=workspace.bearer()).json()["status"] == "live"
    alice = person(client, workspace, "alice-browser")
    ref = join(client, workspace, campaign_id, alice)["token"]
    client.get(f"/c/{shown['token']}", params={"ref": ref})
    arrive(client, workspace, campaign_id, "invites", ref, person(client, workspace, "bob-browser"))
    page.reload()
    page.wait_for_selector("#chart canvas")
    assert page.inner_text("#figure-participants") == "1" and page.inner_text("#figure-sent") == "1"
    assert len(page.query_selector_all("#credits tbody tr")) == 1
    page.screenshot(path=str(artifacts_dir / f"console-campaign-{backend}.png"), full_page=True)
    public = browser.new_page(locale="en-US", viewport={"width": 390, "height": 844})
    public.goto(f"{live_server}/c/{shown['token']}?ref={ref}")
    assert "悦妆旗舰店" in public.inner_text("#operator") and "Rules" in public.inner_text("#rules")
    public.screenshot(path=str(artifacts_dir / f"campaign-landing-{backend}.png"), full_page=True)
