"""A fake WeChat official-account API: access tokens and the three send APIs siyu uses (and web
authorisation, :mod:`siyu.channels.fakes.wechat_oauth`).

Tokens behave like WeChat's: ``/cgi-bin/token`` issues a new token on every call and leaves the
previous one valid for 5 more minutes; ``/cgi-bin/stable_token`` returns the same token while more
than 5 minutes of it remain (``force_refresh`` revokes it at once); a revoked token is answered with
40001, an expired one with 42001, a missing one with 41001. The send APIs record what they accept
(the raw body too, to check what went over the wire) and answer, when told to, 43004 for people
who unfollowed, or any errcode for an openid or for the next calls. Subscription notices
(``message/subscribe/bizsend``) are one-time: each :meth:`FakeWeChat.subscribe` lets one notice of
that template through, without one the answer is 43101 (unless ``enforce_subscriptions`` is off, as
in the sandbox); a ``thing`` value over 20 characters or a ``phrase`` over 5 is refused with 47003.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from siyu.channels.fakes.server import LoopbackServer, Request
from siyu.channels.fakes.tokens import Token, TokenControls
from siyu.channels.fakes.wechat_oauth import WebAuthorisation

OVERLAP = 300  # seconds a replaced /cgi-bin/token token keeps working; stable tokens renew this early
DEDUPE = 600  # a template message's client_msg_id dedupes for 10 minutes
ERRMSG = {
    -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type", 40003: "invalid openid", 40008: "invalid message type", 40013: "invalid appid",
    40037: "invalid template_id", 40125: "invalid appsecret", 41001: "access_token missing",
    42001: "access_token expired", 43004: "require subscribe", 43101: "user refuse to accept the msg",
    47003: "argument invalid!", 40053: "invalid action info", 45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit", 45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit", 47001: "data format error",
}
MSGTYPES = ("text", "image", "voice", "video", "music", "news", "mpnews", "link", "miniprogrampage", "wxcard",
            "msgmenu", "mpnewsarticle")


@dataclass(frozen=True)
class ReceivedWeChat:
    kind: str  # "template" | "cs" | "subscribe"
    appid: str
    openid: str
    body: dict[str, Any]
    raw: bytes  # the bytes on the wire
    msgid: int | None


class FakeWeChat(WebAuthorisation, TokenControls, LoopbackServer):
    """``apps`` maps appids to their secrets. ``token_lifetime`` is the ``expires_in`` handed out."""

    def __init__(self, apps: Mapping[str, str], *, token_lifetime: int = 7200, now: Callable[[], float] = time.time,
                 enforce_subscriptions: bool = True, host: str = "127.0.0.1", port: int = 0) -> None:
        self.apps = dict(apps)
        self.enforce_subscriptions = enforce_subscriptions
        self._subscriptions: dict[tuple[str, str], int] = {}
        self.token_lifetime = token_lifetime
        self.now = now
        self.received: list[ReceivedWeChat] = []
        self.refused: list[tuple[str, int]] = []  # (openid, errcode) of every refused send
        self.token_fetches: list[tuple[str, str]] = []  # (endpoint, appid)
        self.token_refusals: list[int] = []  # 41001 / 40001 / 42001 answered to sends
        self._tokens: dict[str, Token] = {}
        self._classic: dict[str, str] = {}
        self._stable: dict[str, str] = {}
        self._unfollowed: set[str] = set()
        self._openid_errors: dict[str, int] = {}
        self._scripted: list[int] = []
        self._sent_ids: dict[tuple[str, str, str], tuple[int, float]] = {}
        self._msgids = itertools.count(2_000_000_001)
        self.qrcodes: dict[str, dict[str, Any]] = {}  # ticket -> qrcode/create's body and answer
        self._init_oauth()  # web authorisation (网页授权): siyu.channels.fakes.wechat_oauth
        super().__init__(host, port)

    # --- what tests and the sandbox tell it -----------------------------------------------------

    def unfollow(self, openid: str) -> None:
        with self.lock:
            self._unfollowed.add(openid)

    def subscribe(self, openid: str, template_id: str, times: int = 1) -> None:
        """The person accepted ``times`` one-time subscriptions to this template."""
        with self.lock:
            key = (openid, template_id)
            self._subscriptions[key] = self._subscriptions.get(key, 0) + times

    def fail_openid(self, openid: str, errcode: int) -> None:
        """Answer every send to this openid with ``errcode`` (45047: out of the window, …)."""
        with self.lock:
            self._openid_errors[openid] = errcode

    # --- the API ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            oauth = self.handle_oauth(request)
            if oauth is not None:
                return oauth
            if request.path == "/cgi-bin/token" and request.method == "GET":
                return 200, self._issue("token", request.query)
            if request.path == "/cgi-bin/stable_token" and request.method == "POST":
                try:
                    body = request.json()
                except ValueError:
                    return 200, self._error(47001)
                return 200, self._issue("stable_token", body if isinstance(body, dict) else {})
            if request.path == "/cgi-bin/qrcode/create" and request.method == "POST":
                return 200, self._qrcode(request)
            kind = {"/cgi-bin/message/template/send": "template", "/cgi-bin/message/custom/send": "cs",
                    "/cgi-bin/message/subscribe/bizsend": "subscribe"}.get(request.path)
            if kind is None or request.method != "POST":
                return 404, {"errcode": 404, "errmsg": "not found"}
            return 200, self._send(kind, request)

    @staticmethod
    def _error(errcode: int) -> dict[str, Any]:
        return {"errcode": errcode, "errmsg": f"{ERRMSG.get(errcode, 'error')} rid: {secrets.token_hex(6)}"}

    def _issue(self, endpoint: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("grant_type") != "client_credential":
            return self._error(40002)
        appid = str(params.get("appid", ""))
        if appid not in self.apps:
            return self._error(40013)
        if params.get("secret") != self.apps[appid]:
            return self._error(40125)
        self.token_fetches.append((endpoint, appid))
        now = self.now()
        if endpoint == "stable_token":
            current = self._tokens.get(self._stable.get(appid, ""))
            if params.get("force_refresh") in (True, "true") and current is not None:
                current.revoked = True
            elif current is not None and not current.revoked and current.expires_at - now > OVERLAP:
                return {"access_token": self._stable[appid], "expires_in": int(current.expires_at - now)}
        else:
            previous = self._tokens.get(self._classic.get(appid, ""))
            if previous is not None:
                previous.expires_at = min(previous.expires_at, now + OVERLAP)
        token = secrets.token_urlsafe(48)
        self._tokens[token] = Token(appid, now + self.token_lifetime)
        (self._stable if endpoint == "stable_token" else self._classic)[appid] = token
        return {"access_token": token, "expires_in": self.token_lifetime}

    def _send(self, kind: str, request: Request) -> dict[str, Any]:
        token = self._tokens.get(request.query.get("access_token", ""))
        refusal = (41001 if not request.query.get("access_token") else 40001 if token is None or token.revoked
                   else 42001 if token.expires_at <= self.now() else 0)
        if refusal or token is None:
            self.token_refusals.append(refusal)
            return self._error(refusal)
        try:
            body = request.json()
        except ValueError:
            return self._error(47001)
        openid = body.get("touser") if isinstance(body, dict) else None
        if not isinstance(openid, str) or not openid:
            return self._error(40003)
        if kind in ("template", "subscribe") and not body.get("template_id"):
            return self._error(40037)
        if kind == "cs" and body.get("msgtype") not in MSGTYPES:
            return self._error(40008)
        errcode = (self._scripted.pop(0) if self._scripted else self._openid_errors.get(openid)
                   or (43004 if openid in self._unfollowed else 0))
        if errcode:
            self.refused.append((openid, errcode))
            return self._error(errcode)
        if kind == "subscribe":
            return self._subscription_notice(token.owner, openid, body, request.body)
        if kind == "cs":
            self.received.append(ReceivedWeChat(kind, token.owner, openid, body, request.body, None))
            return {"errcode": 0, "errmsg": "ok"}
        dedupe = (token.owner, openid, str(body.get("client_msg_id") or ""))
        earlier = self._sent_ids.get(dedupe)
        if dedupe[2] and earlier is not None and self.now() - earlier[1] < DEDUPE:
            return {"errcode": 0, "errmsg": "ok", "msgid": earlier[0]}
        msgid = next(self._msgids)
        self._sent_ids[dedupe] = (msgid, self.now())
        self.received.append(ReceivedWeChat(kind, token.owner, openid, body, request.body, msgid))
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _subscription_notice(self, appid: str, openid: str, body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        data = body.get("data")
        if not isinstance(data, dict) or not data:
            return self._error(47003)
        for key, item in data.items():
            value = item.get("value") if isinstance(item, dict) else None
            limit = 20 if key.startswith("thing") else 5 if key.startswith("phrase") else None
            if not isinstance(value, str) or (limit is not None and len(value) > limit):
                self.refused.append((openid, 47003))
                return {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value invalid rid: "
                        f"{secrets.token_hex(6)}"}
        key = (openid, str(body["template_id"]))
        if self.enforce_subscriptions:
            if self._subscriptions.get(key, 0) < 1:
                self.refused.append((openid, 43101))
                return self._error(43101)
            self._subscriptions[key] -= 1
        self.received.append(ReceivedWeChat("subscribe", appid, openid, body, raw, None))
        return {"errcode": 0, "errmsg": "ok"}

    def _qrcode(self, request: Request) -> dict[str, Any]:
        """Parametric QR codes (生成带参数的二维码): temporary ones last ``expire_seconds`` (60 by
        default, at most 2,592,000 = 30 days), permanent ones (``QR_LIMIT_*``) never expire."""
        token = self._tokens.get(request.query.get("access_token", ""))
        if token is None or token.revoked or token.expires_at <= self.now():
            return self._error(41001 if not request.query.get("access_token") else 40001 if token is None
                               or token.revoked else 42001)
        try:
            body = request.json()
        except ValueError:
            return self._error(47001)
        action = body.get("action_name") if isinstance(body, dict) else None
        scene = ((body.get("action_info") or {}).get("scene") or {}) if isinstance(body, dict) else {}
        if action not in ("QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE") or not (
                1 <= len(str(scene.get("scene_str") or scene.get("scene_id") or "")) <= 64):
            return self._error(40053)
        ticket = "gQ" + secrets.token_urlsafe(24)
        answer: dict[str, Any] = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}"}
        if not action.startswith("QR_LIMIT"):
            answer["expire_seconds"] = min(int(body.get("expire_seconds") or 60), 2_592_000)
        self.qrcodes[ticket] = {**body, **answer}
        return answer
