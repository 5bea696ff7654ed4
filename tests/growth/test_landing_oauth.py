"""The campaign page inside WeChat, on both databases, against the fake WeChat on a real loopback HTTP
server: a visitor without a cookie goes through web authorisation (网页授权) and comes back known —
the openid and unionid resolved to one profile through ingest, remembered in a signed httpOnly cookie;
a used or stale code, a forged or stale state and a forged cookie are refused; outside WeChat the page
stays read-only; a refused ``snsapi_userinfo`` never loops."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from siyu import clock
from siyu.channels.fakes.wechat import FakeWeChat
from siyu.db.engine import write
from siyu.workspaces.store import update_workspace_settings
from tests.growth.campaign_helpers import START, campaign

APPID, SECRET = "wx5f1a9c3e7d2b4a60", "3c1f0e9a8b7d6c5e4f3a2b1c0d9e8f7a"
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
ASSIST = {"helpers_needed": 2, "reward": {"cost_fen": 100}, "revoke_within_days": 3}


def connect_wechat(runtime: Any, workspace: Any, fake: FakeWeChat, **extra: Any) -> None:
    """The workspace's WeChat channel pointed at the fake (API and authorise page)."""
    with write(runtime.engine) as conn:
        update_workspace_settings(conn, workspace.id, {"channels": {"wechat": {
            "appid": APPID, "secret": SECRET, "base_url": fake.url,
            "oauth_authorize_url": f"{fake.url}/connect/oauth2/authorize", **extra}}})


@pytest.fixture
def wechat(runtime, workspace) -> Iterator[FakeWeChat]:  # noqa: ANN001
    with FakeWeChat({APPID: SECRET}) as fake:
        connect_wechat(runtime, workspace, fake)
        yield fake


def authorise(page: TestClient, fake: FakeWeChat, url: str, openid: str) -> httpx.Response:
    """Open ``url`` inside WeChat as ``openid``: the page → the fake's authorise page (a real HTTP
    hop) → the callback → the page again. Returns the final page."""
    first = page.get(url, headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
    assert first.status_code == 302, first.text
    authorise_url = first.headers["location"]
    assert authorise_url.startswith(f"{fake.url}/connect/oauth2/authorize?appid={APPID}&redirect_uri=")
    assert authorise_url.endswith("#wechat_redirect")
    back = httpx.get(authorise_url.split("#")[0], cookies={"fake_wechat_openid": openid}, follow_redirects=False)
    assert back.status_code == 302, back.text
    called = page.get(back.headers["location"], headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
    assert called.status_code == 303, called.text
    final = page.get(called.headers["location"], headers={"User-Agent": WECHAT_UA})
    assert final.status_code == 200, final.text
    return final


def _profile(client, workspace, type_: str, value: str) -> int:  # noqa: ANN001
    found = client.get("/api/profiles/lookup", params={"type": type_, "value": value}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def test_a_visitor_inside_wechat_is_authorised_resolved_and_remembered(app, client, workspace, wechat) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    wechat.oauth_visitor("oAlice001", unionid="uAlice001")
    with TestClient(app) as page:
        first = page.get(f"/c/{found['token']}", params={"ref": "abc", "lang": "zh"},
                         headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
        parts = urlsplit(first.headers["location"])
        assert list(parse_qs(parts.query)) == ["appid", "redirect_uri", "response_type", "scope", "state"]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["redirect_uri"] == f"http://testserver/c/{found['token']}/oauth"
        assert (query["response_type"], query["scope"]) == ("code", "snsapi_base")
        assert query["state"].isalnum() and len(query["state"]) <= 128 and parts.fragment == "wechat_redirect"
        shown = authorise(page, wechat, f"/c/{found['token']}", "oAlice001")
        assert "action-join" in shown.text and "请在微信中打开" not in shown.text
        cookie = next(c for c in page.cookies.jar if c.name == f"siyu_visitor_{workspace.id}")
        assert cookie.path == "/c/" and cookie.has_nonstandard_attr("HttpOnly")
        again = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
        assert again.status_code == 200 and "action-join" in again.text  # remembered: no second trip
    alice = _profile(client, workspace, f"wechat_openid:{APPID}", "oAlice001")
    assert _profile(client, workspace, "wechat_unionid", "uAlice001") == alice


def test_the_cookie_expires_and_the_visitor_is_asked_again(app, client, workspace, wechat) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST, days=60)
    wechat.oauth_visitor("oBob")
    with TestClient(app) as page:
        authorise(page, wechat, f"/c/{found['token']}", "oBob")
        clock.advance(timedelta(days=31))
        later = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
        assert later.status_code == 302 and later.headers["location"].startswith(wechat.url)


def test_a_used_or_stale_code_and_a_forged_or_stale_state_are_refused(app, client, workspace, wechat) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    other = campaign(client, workspace, "assist", ASSIST, name="另一个活动")
    wechat.oauth_visitor("oCarol")
    with TestClient(app) as page:
        first = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
        back = httpx.get(first.headers["location"].split("#")[0], follow_redirects=False).headers["location"]
        callback = urlsplit(back)
        state = parse_qs(callback.query)["state"][0]
        assert page.get(back, follow_redirects=False).status_code == 303
        used = page.get(back, follow_redirects=False)  # the same code again: WeChat says 40163
        assert used.status_code == 400 and "微信授权失败" in used.text
        code = wechat.issue_code(APPID, "oCarol")
        tampered = state[:-1] + ("0" if state[-1] != "0" else "1")
        for bad in (tampered, "deadbeef" * 4, ""):
            refused = page.get(f"/c/{found['token']}/oauth", params={"code": code, "state": bad})
            assert refused.status_code == 400, bad
        moved = page.get(f"/c/{other['token']}/oauth", params={"code": code, "state": state})
        assert moved.status_code == 400  # a state is bound to its campaign
        clock.advance(timedelta(minutes=11))
        stale = page.get(f"/c/{found['token']}/oauth", params={"code": code, "state": state})
        assert stale.status_code == 400
    assert wechat.codes[code].used is False  # refused before WeChat was asked


def test_a_code_older_than_five_minutes_is_invalid(app, runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    now = [1_000_000.0]
    with FakeWeChat({APPID: SECRET}, now=lambda: now[0]) as fake:
        connect_wechat(runtime, workspace, fake)
        found = campaign(client, workspace, "assist", ASSIST)
        fake.oauth_visitor("oDan")
        with TestClient(app) as page:
            first = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
            back = httpx.get(first.headers["location"].split("#")[0], follow_redirects=False).headers["location"]
            now[0] += 301
            late = page.get(back, follow_redirects=False)
            assert late.status_code == 400 and 'id="retry"' in late.text


def test_a_forged_cookie_is_not_a_visitor(app, client, workspace, wechat) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    with TestClient(app) as page:
        page.cookies.set(f"siyu_visitor_{workspace.id}", "eyJwIjoxLCJhIjoid3giLCJvIjoibyIsImV4cCI6OTk5OTk5OTk5OX0.x",
                         path="/c/")
        shown = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
        assert shown.status_code == 302  # unknown: sent to WeChat, never taken for profile 1
        pressed = page.post(f"/c/{found['token']}/act", data={"form": "x", "lang": "en"})
        assert pressed.status_code == 403 and "expired" in pressed.text


def test_outside_wechat_the_page_is_read_only_and_says_so(client, workspace, wechat) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    page = client.get(f"/c/{found['token']}", params={"lang": "zh"}, headers={"User-Agent": "Mozilla/5.0 Chrome"})
    assert page.status_code == 200 and "请在微信中打开本页面参与活动" in page.text and "<form" not in page.text
    english = client.get(f"/c/{found['token']}", params={"lang": "en"})
    assert "Open this page in WeChat to take part." in english.text


def test_without_a_wechat_account_the_page_inside_wechat_says_it_is_not_set_up(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    page = client.get(f"/c/{found['token']}", params={"lang": "zh"}, headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 200 and "暂未开通微信授权" in page.text


def test_userinfo_scope_names_the_visitor_and_a_refusal_does_not_loop(app, runtime, client, workspace,  # noqa: ANN001
                                                                      wechat) -> None:
    clock.freeze(START)
    connect_wechat(runtime, workspace, wechat, oauth_scope="snsapi_userinfo")
    found = campaign(client, workspace, "assist", ASSIST)
    wechat.oauth_visitor("oErin", nickname="小艾")
    wechat.oauth_visitor("oFrank", refuses_userinfo=True, default=False)
    with TestClient(app) as page:
        authorise(page, wechat, f"/c/{found['token']}", "oErin")
    erin = client.get(f"/api/profiles/{_profile(client, workspace, f'wechat_openid:{APPID}', 'oErin')}",
                      headers=workspace.bearer()).json()
    assert erin["traits"]["wechat_nickname"] == "小艾"
    with TestClient(app) as page:
        first = page.get(f"/c/{found['token']}", params={"lang": "en"}, headers={"User-Agent": WECHAT_UA},
                         follow_redirects=False)
        assert "scope=snsapi_userinfo" in first.headers["location"]
        back = httpx.get(first.headers["location"].split("#")[0], cookies={"fake_wechat_openid": "oFrank"},
                         follow_redirects=False).headers["location"]
        assert "code=" not in back
        home = page.get(back, follow_redirects=False)
        assert home.status_code == 303 and "oauth=denied" in home.headers["location"]
        shown = page.get(home.headers["location"], headers={"User-Agent": WECHAT_UA}, follow_redirects=False)
        assert shown.status_code == 200 and "Allow WeChat to identify you" in shown.text and 'id="retry"' in shown.text


def test_a_wrong_secret_says_sign_in_is_unavailable_not_that_the_visitor_erred(app, runtime, client,  # noqa: ANN001
                                                                              workspace) -> None:
    clock.freeze(START)
    with FakeWeChat({APPID: "the-real-secret"}) as fake:
        connect_wechat(runtime, workspace, fake)  # settings hold SECRET, WeChat knows another
        found = campaign(client, workspace, "assist", ASSIST)
        fake.oauth_visitor("oGina")
        with TestClient(app) as page:
            first = page.get(f"/c/{found['token']}", params={"lang": "en"}, headers={"User-Agent": WECHAT_UA},
                             follow_redirects=False)
            back = httpx.get(first.headers["location"].split("#")[0], follow_redirects=False).headers["location"]
            failed = page.get(back, follow_redirects=False)
            assert failed.status_code == 502 and "not available right now" in failed.text
            assert f"siyu_visitor_{workspace.id}" not in page.cookies
