"""WeChat web authorisation (网页授权, OAuth 2.0) for an official account's H5 pages: who is this visitor?

The flow (developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html):

1. the page sends the visitor to ``open.weixin.qq.com/connect/oauth2/authorize?appid&redirect_uri&
   response_type=code&scope&state#wechat_redirect`` (:func:`authorize_url`). WeChat checks the link
   strictly — the parameters must come in exactly this order, and ``redirect_uri``'s domain must be
   the one registered as the account's 网页授权域名 — and ``state`` may hold at most 128 bytes of
   ``a-zA-Z0-9``;
2. ``snsapi_base`` is silent (the openid only); ``snsapi_userinfo`` asks the person once (nickname,
   avatar). WeChat redirects back to ``redirect_uri?code=CODE&state=STATE`` (no ``code`` when the
   person refused);
3. the server exchanges the code at ``/sns/oauth2/access_token?appid&secret&code&grant_type=
   authorization_code`` (:func:`exchange_code`) for ``{access_token, expires_in, refresh_token,
   openid, scope, unionid?}`` (``unionid`` only when the account is bound to an open-platform
   account). A code works once and for 5 minutes: 40029 invalid code, 40163 code been used.

This web ``access_token`` is the person's, not the account's: it is used at most once, right away,
for ``/sns/userinfo`` (:func:`user_info`), and never stored. Calls go through the channels' shared
HTTP client (:mod:`siyu.channels.http`); errcodes become :class:`ChannelError` codes only where they
change what the page does — a used or invalid code (ask WeChat again), wrong credentials (the
operator's to fix), WeChat unreachable (try later) — the raw code kept in the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from siyu.channels import http
from siyu.channels.base import ChannelError
from siyu.channels.wechat import CREDENTIAL_ERRORS, DEFAULT_BASE_URL

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
SCOPES = ("snsapi_base", "snsapi_userinfo")
CODE_ERRORS = {40029: "wechat.invalid_code", 40163: "wechat.code_used"}
STATE_LIMIT = 128  # bytes of a-zA-Z0-9


@dataclass(frozen=True)
class OAuthApp:
    """An official account's web-authorisation settings: ``settings.channels.wechat`` ``appid`` and
    ``secret`` (the same account the WeChat channel sends from), with optional ``oauth_scope``,
    ``base_url`` (the API) and ``oauth_authorize_url`` (the authorise page; a fake one in tests)."""

    appid: str
    secret: str
    scope: str = "snsapi_base"
    base_url: str = DEFAULT_BASE_URL
    authorize_url: str = AUTHORIZE_URL
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> OAuthApp:
        scope = str(config.get("oauth_scope") or "snsapi_base")
        if scope not in SCOPES:
            raise ValueError(f"oauth_scope must be one of {', '.join(SCOPES)}")
        base_url = str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        authorize = str(config.get("oauth_authorize_url") or AUTHORIZE_URL)
        if not all(url.startswith(("https://", "http://")) for url in (base_url, authorize)):
            raise ValueError("base_url and oauth_authorize_url must be http(s) URLs")
        return cls(appid=str(config["appid"]), secret=str(config["secret"]), scope=scope, base_url=base_url,
                   authorize_url=authorize)


@dataclass(frozen=True)
class WebGrant:
    """The answer to a code: who the visitor is to this account (and across the brand's accounts)."""

    openid: str
    scope: str
    unionid: str | None
    access_token: str
    expires_in: int
    refresh_token: str | None


def authorize_url(app: OAuthApp, redirect_uri: str, state: str) -> str:
    """The link WeChat accepts: parameters in WeChat's order, ``redirect_uri`` URL-encoded, the
    ``#wechat_redirect`` fragment last."""
    if not state.isalnum() or not state.isascii() or len(state) > STATE_LIMIT:
        raise ValueError(f"state must be at most {STATE_LIMIT} characters of a-zA-Z0-9")
    return (f"{app.authorize_url}?appid={quote(app.appid, safe='')}&redirect_uri={quote(redirect_uri, safe='')}"
            f"&response_type=code&scope={app.scope}&state={state}#wechat_redirect")


def exchange_code(app: OAuthApp, code: str) -> WebGrant:
    """The visitor behind ``code`` (see the module docstring for the errors)."""
    answer = _get(app, "/sns/oauth2/access_token", {"appid": app.appid, "secret": app.secret, "code": code,
                                                     "grant_type": "authorization_code"})
    openid = answer.get("openid")
    if not isinstance(openid, str) or not openid:
        raise ChannelError("wechat.rejected", "sns/oauth2/access_token answered without an openid", retryable=False)
    unionid = answer.get("unionid")
    return WebGrant(openid=openid, scope=str(answer.get("scope") or app.scope),
                    unionid=unionid if isinstance(unionid, str) and unionid else None,
                    access_token=str(answer.get("access_token") or ""), expires_in=int(answer.get("expires_in") or 0),
                    refresh_token=answer.get("refresh_token"))


def user_info(app: OAuthApp, grant: WebGrant) -> dict[str, Any]:
    """Nickname, avatar (and unionid) of a ``snsapi_userinfo`` grant."""
    return _get(app, "/sns/userinfo", {"access_token": grant.access_token, "openid": grant.openid, "lang": "zh_CN"})


def _get(app: OAuthApp, path: str, params: dict[str, str]) -> dict[str, Any]:
    try:
        response = http.client().get(f"{app.base_url}{path}", params=params, timeout=app.timeout)
        answer = json.loads(response.text)  # WeChat answers JSON as text/plain
    except (httpx.HTTPError, ValueError) as error:
        raise ChannelError("wechat.unreachable", f"{path}: {type(error).__name__}: {error}", retryable=True) from None
    if response.status_code != 200 or not isinstance(answer, dict):
        raise ChannelError("wechat.unreachable", f"{path}: HTTP {response.status_code}", retryable=True)
    errcode = int(answer.get("errcode") or 0)
    if errcode:
        detail = f"{path} errcode {errcode}: {answer.get('errmsg', '')}"[:500]
        if errcode in CODE_ERRORS:
            raise ChannelError(CODE_ERRORS[errcode], detail, retryable=False)
        if errcode in CREDENTIAL_ERRORS:
            raise ChannelError("wechat.credentials", detail, retryable=False)
        raise ChannelError("wechat.rejected", detail, retryable=errcode == -1)
    return answer
