"""The fake WeChat's web authorisation (网页授权), with the real rules a page must live with.

``GET /connect/oauth2/authorize`` plays the authorise page: it checks the app and the parameters
and sends the browser back to ``redirect_uri?code=CODE&state=STATE`` for the visitor "inside WeChat"
— the ``fake_wechat_openid`` cookie the test put in its browser for the fake's host, else the one
set with :meth:`WebAuthorisation.oauth_visitor`. With ``snsapi_userinfo`` a visitor set to refuse is
sent back with the state only (WeChat's answer to 拒绝). ``GET /sns/oauth2/access_token`` exchanges
a code once, within 5 minutes (then 40029 invalid code; a second use 40163 code been used; a wrong
secret 40125), answering ``{access_token, expires_in, refresh_token, openid, scope, unionid?}`` —
``unionid`` only for visitors given one. ``GET /sns/userinfo`` answers for a userinfo grant's token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from siyu.channels.fakes.server import Redirect, Request

CODE_LIFETIME = 300  # seconds: "code … 5分钟未被使用自动过期"
OAUTH_ERRMSG = {40029: "invalid code", 40163: "code been used", 40013: "invalid appid", 40125: "invalid appsecret",
                40002: "invalid grant_type", 10003: "redirect_uri域名与后台配置不一致",
                10005: "此公众号并没有这些scope的权限",
                40001: "invalid credential, access_token is invalid or not latest"}


@dataclass
class Visitor:
    openid: str
    unionid: str | None = None
    nickname: str = "微信用户"
    refuses_userinfo: bool = False


@dataclass
class IssuedCode:
    appid: str
    visitor: Visitor
    scope: str
    issued_at: float
    used: bool = False


class WebAuthorisation:
    """Mixed into :class:`siyu.channels.fakes.wechat.FakeWeChat` (which holds ``apps``, ``lock`` and
    ``now``); call :meth:`_init_oauth` from its constructor."""

    apps: dict[str, str]

    def _init_oauth(self) -> None:
        self.visitors: dict[str, Visitor] = {}  # openid -> the person
        self.default_openid: str | None = None
        self.codes: dict[str, IssuedCode] = {}
        self.web_tokens: dict[str, IssuedCode] = {}
        self.authorize_requests: list[dict[str, str]] = []  # every authorise link as it came

    def oauth_visitor(self, openid: str, *, unionid: str | None = None, nickname: str = "微信用户",
                      refuses_userinfo: bool = False, default: bool = True) -> None:
        """A person inside WeChat; ``default``: the one the authorise page answers for without a cookie."""
        with self.lock:  # type: ignore[attr-defined]
            self.visitors[openid] = Visitor(openid, unionid, nickname, refuses_userinfo)
            if default:
                self.default_openid = openid

    def issue_code(self, appid: str, openid: str, scope: str = "snsapi_base") -> str:
        """A code as the authorise page would hand it out (for tests that skip the browser hop)."""
        with self.lock:  # type: ignore[attr-defined]
            return self._new_code(appid, self.visitors.get(openid) or Visitor(openid), scope)

    def handle_oauth(self, request: Request) -> tuple[int, Any] | None:
        """The answer to an OAuth request, or None when the request is not one (the caller holds the lock)."""
        if request.method != "GET":
            return None
        if request.path == "/connect/oauth2/authorize":
            return self._authorize(request)
        if request.path == "/sns/oauth2/access_token":
            return 200, self._exchange(request.query)
        if request.path == "/sns/userinfo":
            grant = self.web_tokens.get(request.query.get("access_token", ""))
            if grant is None or grant.scope != "snsapi_userinfo" or grant.visitor.openid != request.query.get("openid"):
                return 200, self._oauth_error(40001)
            answer = {"openid": grant.visitor.openid, "nickname": grant.visitor.nickname, "sex": 0,
                      "headimgurl": "https://thirdwx.qlogo.cn/mmopen/fake/132", "privilege": []}
            return 200, answer | ({"unionid": grant.visitor.unionid} if grant.visitor.unionid else {})
        return None

    def _authorize(self, request: Request) -> tuple[int, Any]:
        query = request.query
        self.authorize_requests.append(dict(query))
        if query.get("appid") not in self.apps:
            return 200, self._oauth_error(40013)
        if query.get("response_type") != "code" or not query.get("redirect_uri", "").startswith(("http://",
                                                                                              "https://")):
            return 200, self._oauth_error(10003)
        if query.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
            return 200, self._oauth_error(10005)
        state = query.get("state", "")
        if len(state) > 128 or (state and not (state.isascii() and state.isalnum())):
            return 200, {"errcode": 10016, "errmsg": "state参数错误"}
        cookie = SimpleCookie(request.headers.get("cookie", ""))
        openid = cookie["fake_wechat_openid"].value if "fake_wechat_openid" in cookie else self.default_openid
        if openid is None:
            return 200, {"errcode": 10013, "errmsg": "no visitor inside WeChat (set one with oauth_visitor)"}
        visitor = self.visitors.get(openid) or Visitor(openid)
        back = query["redirect_uri"] + ("&" if "?" in query["redirect_uri"] else "?")
        if query["scope"] == "snsapi_userinfo" and visitor.refuses_userinfo:
            return 302, Redirect(f"{back}state={state}")
        code = self._new_code(query["appid"], visitor, query["scope"])
        return 302, Redirect(f"{back}code={code}&state={state}")

    def _new_code(self, appid: str, visitor: Visitor, scope: str) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = IssuedCode(appid, visitor, scope, self.now())  # type: ignore[attr-defined]
        return code

    def _exchange(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("grant_type") != "authorization_code":
            return self._oauth_error(40002)
        appid = query.get("appid", "")
        if appid not in self.apps:
            return self._oauth_error(40013)
        if query.get("secret") != self.apps[appid]:
            return self._oauth_error(40125)
        issued = self.codes.get(query.get("code", ""))
        if issued is None or issued.appid != appid or self.now() - issued.issued_at > CODE_LIFETIME:  # type: ignore[attr-defined]
            return self._oauth_error(40029)
        if issued.used:
            return self._oauth_error(40163)
        issued.used = True
        token = secrets.token_urlsafe(32)
        self.web_tokens[token] = issued
        answer = {"access_token": token, "expires_in": 7200, "refresh_token": secrets.token_urlsafe(32),
                  "openid": issued.visitor.openid, "scope": issued.scope}
        return answer | ({"unionid": issued.visitor.unionid} if issued.visitor.unionid else {})

    @staticmethod
    def _oauth_error(errcode: int) -> dict[str, Any]:
        return {"errcode": errcode, "errmsg": f"{OAUTH_ERRMSG.get(errcode, 'error')} rid: {secrets.token_hex(6)}"}
