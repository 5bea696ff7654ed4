"""The web-authorisation client (:mod:`siyu.channels.wechat_oauth`) against the fake WeChat on a real
loopback server: the authorise link in WeChat's strict form, a code exchanged once within its five
minutes, the errcodes that change what the page does, and the userinfo of a ``snsapi_userinfo`` grant."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from siyu.channels.base import ChannelError
from siyu.channels.fakes.wechat import FakeWeChat
from siyu.channels.wechat_oauth import AUTHORIZE_URL, OAuthApp, authorize_url, exchange_code, user_info

APPID, SECRET = "wx0123456789abcdef", "secret-of-the-account"


def _app(fake: FakeWeChat, **overrides: str) -> OAuthApp:
    return OAuthApp.from_settings({"appid": APPID, "secret": SECRET, "base_url": fake.url,
                                   "oauth_authorize_url": f"{fake.url}/connect/oauth2/authorize", **overrides})


def test_the_authorise_link_has_wechat_s_order_and_fragment() -> None:
    app = OAuthApp(APPID, SECRET)
    link = authorize_url(app, "https://brand.example.cn/c/tok/oauth", "abc123")
    assert link == (f"{AUTHORIZE_URL}?appid={APPID}&redirect_uri=https%3A%2F%2Fbrand.example.cn%2Fc%2Ftok%2Foauth"
                    "&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect")
    for bad in ("has-dash", "x" * 129, "状态"):
        with pytest.raises(ValueError):
            authorize_url(app, "https://brand.example.cn/c/tok/oauth", bad)
    with pytest.raises(ValueError):
        OAuthApp.from_settings({"appid": APPID, "secret": SECRET, "oauth_scope": "snsapi_login"})


def test_a_code_is_exchanged_once_for_the_openid_and_unionid() -> None:
    with FakeWeChat({APPID: SECRET}) as fake:
        fake.oauth_visitor("oPerson", unionid="uPerson")
        app = _app(fake)
        answer = httpx.get(authorize_url(app, "http://127.0.0.1:9/c/t/oauth", "s1").split("#")[0])
        assert answer.status_code == 302
        back = parse_qs(urlsplit(answer.headers["location"]).query)
        assert back["state"] == ["s1"]
        grant = exchange_code(app, back["code"][0])
        assert (grant.openid, grant.unionid, grant.scope, grant.expires_in) == ("oPerson", "uPerson", "snsapi_base",
                                                                                 7200)
        with pytest.raises(ChannelError) as used:
            exchange_code(app, back["code"][0])
        assert used.value.code == "wechat.code_used" and "40163" in used.value.detail
        with pytest.raises(ChannelError) as invalid:
            exchange_code(app, "not-a-code")
        assert invalid.value.code == "wechat.invalid_code"


def test_a_code_expires_after_five_minutes_and_a_wrong_secret_is_the_operator_s() -> None:
    now = [1_000.0]
    with FakeWeChat({APPID: SECRET}, now=lambda: now[0]) as fake:
        code = fake.issue_code(APPID, "oLate")
        now[0] += 301
        with pytest.raises(ChannelError) as late:
            exchange_code(_app(fake), code)
        assert late.value.code == "wechat.invalid_code"
        with pytest.raises(ChannelError) as wrong:
            exchange_code(_app(fake, secret="wrong"), fake.issue_code(APPID, "oLate"))
        assert (wrong.value.code, wrong.value.retryable) == ("wechat.credentials", False)


def test_userinfo_answers_for_a_userinfo_grant_only() -> None:
    with FakeWeChat({APPID: SECRET}) as fake:
        fake.oauth_visitor("oNamed", nickname="小王", unionid="uNamed")
        app = _app(fake, oauth_scope="snsapi_userinfo")
        info = user_info(app, exchange_code(app, fake.issue_code(APPID, "oNamed", "snsapi_userinfo")))
        assert (info["nickname"], info["unionid"]) == ("小王", "uNamed")
        base = exchange_code(app, fake.issue_code(APPID, "oNamed", "snsapi_base"))
        with pytest.raises(ChannelError):
            user_info(app, base)


def test_wechat_unreachable_is_retryable() -> None:
    app = OAuthApp(APPID, SECRET, base_url="http://127.0.0.1:9", timeout=1.0)
    with pytest.raises(ChannelError) as down:
        exchange_code(app, "code")
    assert (down.value.code, down.value.retryable) == ("wechat.unreachable", True)
