"""The member centre in a real browser (Debian's chromium through Playwright): an operator makes a
member-centre link on the customer's tier-and-points page, then the customer opens it on a phone-sized
screen, switches to English and back, redeems a catalogue item with points (the answer and the new
balance on the page, the spend checked through the API) and joins the invite campaign."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu import clock
from siyu.runtime import Runtime
from tests.loyalty.helpers import NOW
from tests.loyalty.test_member_centre import member_with_everything
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_make_a_link_in_the_console_then_redeem_on_a_phone(browser, live_server: str,  # noqa: F811
                                                           runtime: Runtime, client, workspace,  # noqa: ANN001
                                                           artifacts_dir: Path, backend: str) -> None:
    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    email = f"centre-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    desk = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    desk.goto(f"{live_server}/login?next=/loyalty/members/{made['member']}")
    desk.fill("#email", email)
    desk.fill("#password", PASSWORD)
    desk.click("button[type=submit]")
    desk.click("#make-centre-link")
    link = desk.wait_for_selector("#centre-link:not(:empty)").inner_text()
    assert link.startswith(f"{runtime.config.public_url}/m/") and "有效期至" in desk.inner_text("#centre-link-expiry")

    phone = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(link.replace(runtime.config.public_url, live_server))
    assert phone.inner_text("#tier-name") == "银卡" and phone.inner_text("#balance") == "1288"
    assert "再获得 3712 成长值升级为金卡" in phone.inner_text("#next-tier")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    phone.click("#switch-language")
    phone.wait_for_selector("text=Member centre")
    assert "Ready to use" in phone.inner_text("#coupons")
    phone.click("#switch-language")
    phone.wait_for_selector("text=会员中心")

    phone.click(f"[data-offer='{made['gift']}'] button.redeem")
    notice = phone.wait_for_selector("#notice").inner_text()
    assert notice.startswith("兑换成功：积分换购·护手霜，券码")
    assert phone.inner_text("#balance") == "288"
    assert "积分换购·护手霜" in phone.inner_text("#coupons-claimed")
    phone.screenshot(path=str(artifacts_dir / f"member-centre-redeemed-{backend}.png"), full_page=True)
    phone.reload()  # a reload may resend the form: its key was spent once, nothing more is
    assert phone.inner_text("#balance") == "288"
    ledger = client.get(f"/api/loyalty/members/{made['member']}/points", headers=workspace.bearer()).json()
    assert [(e["kind"], e["points"]) for e in ledger] == [("spend", -1000), ("earn", 1288)]

    phone.click(f"[data-offer='{made['gift']}'] button.redeem")  # 288 left: refused, nothing spent
    assert "积分不足" in phone.wait_for_selector("#notice.refused").inner_text()
    assert phone.inner_text("#balance") == "288"

    phone.click("#join-invite")
    share = phone.wait_for_selector("#share-url").inner_text()
    assert f"/c/{made['campaign_token']}?ref=" in share
    phone.screenshot(path=str(artifacts_dir / f"member-centre-invite-{backend}.png"), full_page=True)
