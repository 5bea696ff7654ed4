"""A campaign page in a real mobile browser (Debian's chromium through Playwright, a phone's viewport and
WeChat's user agent) against the real app under uvicorn and the fake WeChat on loopback: the sharer
goes through web authorisation, joins and gets a share link; a friend opens it, goes through the OAuth
redirects as another WeChat user and helps — the outcome checked through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.channels.fakes.wechat import FakeWeChat
from siyu.runtime import Runtime
from tests.growth.campaign_helpers import campaign
from tests.growth.test_landing_oauth import APPID, ASSIST, SECRET, WECHAT_UA, connect_wechat
from tests.web.test_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _in_wechat(browser, fake: FakeWeChat, openid: str):  # noqa: ANN001, ANN202, F811
    """A phone's WeChat browser signed in to WeChat as ``openid`` (the fake reads its cookie)."""
    context = browser.new_context(user_agent=WECHAT_UA, viewport=PHONE, locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    context.add_cookies([{"name": "fake_wechat_openid", "value": openid, "url": fake.url}])
    return context


def test_a_friend_authorises_through_wechat_and_helps_on_a_phone(browser, live_server: str, runtime: Runtime,  # noqa: F811
                                                                 client, workspace, artifacts_dir: Path,  # noqa: ANN001
                                                                 backend: str) -> None:
    with FakeWeChat({APPID: SECRET}) as fake:
        connect_wechat(runtime, workspace, fake)
        found = campaign(client, workspace, "assist", ASSIST, name="好友助力领好礼")
        sharer = _in_wechat(browser, fake, "oBrowserSharer").new_page()
        sharer.goto(f"{live_server}/c/{found['token']}")
        sharer.wait_for_selector("#action-join")
        assert len(fake.authorize_requests) == 1 and fake.authorize_requests[0]["scope"] == "snsapi_base"
        sharer.click("#action-join")
        sharer.wait_for_selector("#share-link")
        assert "参与成功" in sharer.inner_text("#result")
        link = sharer.get_attribute("#share-link", "href")
        assert link is not None and link.startswith(f"{live_server}/c/{found['token']}?ref=")

        friend = _in_wechat(browser, fake, "oBrowserFriend").new_page()
        friend.goto(link)
        friend.wait_for_selector("#action-help")
        assert len(fake.authorize_requests) == 2
        assert "已有 0 位好友助力，还差 2 位" in friend.inner_text("#owner")
        friend.click("#action-help")
        friend.wait_for_selector("#result.ok")
        assert "助力成功" in friend.inner_text("#result")
        friend.screenshot(path=str(artifacts_dir / f"campaign-landing-helped-{backend}.png"), full_page=True)
        friend.reload()  # the browser resends the POST: the first answer again, nothing twice
        friend.wait_for_selector("#result.ok")

        sharer.goto(f"{live_server}/c/{found['token']}?lang=zh")
        assert "已有 1 位好友助力，还差 1 位" in sharer.inner_text("#mine")
        sharer.screenshot(path=str(artifacts_dir / f"campaign-landing-sharer-{backend}.png"), full_page=True)
    credits = client.get(f"/api/campaigns/{found['id']}/credits", headers=workspace.bearer()).json()
    assert [c["status"] for c in credits] == ["credited"]
