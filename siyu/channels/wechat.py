"""WeChat official account: template messages (模板消息, ``/cgi-bin/message/template/send``),
customer-service messages (客服消息, ``/cgi-bin/message/custom/send``) and subscription notices
(订阅通知, ``/cgi-bin/message/subscribe/bizsend``) through ``wechatpy``.

Settings: one ``settings.channels.wechat = {"appid", "secret", "base_url"?}`` serves
``wechat_template``, ``wechat_cs`` and ``wechat_subscribe``: they are APIs of one account with one secret and one
access token, so two copies could only drift apart. The recipient is ``"<appid>:<openid>"`` (an
openid is only valid for the app that issued it); an openid of another app fails the message as
``wechat.other_app`` instead of being sent to an account that does not know it.

Access tokens. WeChat limits ``/cgi-bin/token`` to 2,000 fetches a day per account, and every fetch
there makes the previous token invalid five minutes later — workers that each fetch their own would
knock each other's tokens out, and knock out the token of any other system the brand runs on the
same account. siyu uses the stable token instead (``POST /cgi-bin/stable_token``, normal mode):
"access_token 有效期内重复调用该接口不会更新 access_token", it is isolated from ``/cgi-bin/token``
("完全隔离，互不影响"), and allows 10,000 calls a minute and 500,000 a day. WeChat itself is then the
store shared by every worker and every machine, so the cache here is per process: one fetch per
process per token lifetime (7,200 s, renewed 5 minutes early because in normal mode WeChat hands out
the next token in the last 5 minutes). A 40001 / 42001 / 40014 answer drops the cached token (only
if no other thread replaced it already), fetches again and retries the send once — safe, since the
refused call sent nothing. A database row holding the token would add a table and a lock for no
gain over this, and would still be invalidated by anyone calling ``/cgi-bin/token``.

Errcodes are translated where they change what siyu does, the raw code kept in the detail:
43004 (the person unfollowed) → ``wechat.unfollowed``, with an ``Unfollowed`` event for the person
(``properties.appid`` the account) so the policy stops their next message before WeChat is asked;
43101 (no subscription left for the
template: the person refused, or it was used) → ``wechat.not_subscribed``; 45015 / 45047 (outside the 48-hour
customer-service window or past its message quota) → ``wechat.outside_window``; 45009 (the daily API
quota) → ``wechat.daily_quota``, held until the quota resets at 00:00 Beijing time; 45011
(per-minute frequency) and -1 (system busy) are retried; credential errors
(bad appid or secret, server IP not whitelisted) → ``wechat.credentials``; anything else
→ ``wechat.rejected``. A call that may have reached WeChat without an answer fails as
``wechat.uncertain`` and is not retried: none of the APIs is idempotent (a template message's
``client_msg_id`` — siyu derives it from the delivery key — dedupes only for 10 minutes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from wechatpy import WeChatClient

from siyu import clock
from siyu.channels import http
from siyu.channels.access_tokens import TOKENS, TokenCache, platform_answer, with_fresh_token
from siyu.channels.base import ChannelError, Delivery, next_midnight

TEMPLATE, CUSTOMER_SERVICE, SUBSCRIBE = "template", "cs", "subscribe"
ENDPOINTS = {TEMPLATE: "message/template/send", CUSTOMER_SERVICE: "message/custom/send",
             SUBSCRIBE: "message/subscribe/bizsend"}
DEFAULT_BASE_URL = "https://api.weixin.qq.com"
# Required fields of each customer-service message type (the same as the template engine's check).
CS_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("content",), "image": ("media_id",), "link": ("title", "description", "url", "thumb_url"),
    "news": ("articles",), "miniprogrampage": ("title", "pagepath", "thumb_media_id")}

STALE_TOKEN = frozenset({40001, 40014, 42001})  # invalid / not latest, malformed, expired
CREDENTIAL_ERRORS = frozenset({40013, 40125, 40164, 41004, 40243})  # appid, secret, IP whitelist, frozen secret
RETRYABLE = {-1: "wechat.busy", 45011: "wechat.rate_limited"}
# 45009 "reach max api daily quota limit" / "api freq out of limit": the account's daily call limit
# for the API is used up (发送客服消息 500,000 a day, template messages 100,000, raised with
# followers). The count starts again at 00:00 Beijing time (接口调用频次限制说明,
# developers.weixin.qq.com/doc/service/Message_Management/API_Call_Limits.html; a community answer:
# "今天凌晨就没有报错了"), so a retry before then can only be refused again. Clearing the count
# (clear_quota, 10 times a month) is the operator's decision, never siyu's.
DAILY_QUOTA = {45009: "wechat.daily_quota"}
QUOTA_ZONE = "Asia/Shanghai"
UNFOLLOWED = 43004  # "require subscribe": the person does not (or no longer) follow the account
PERMANENT = {UNFOLLOWED: "wechat.unfollowed", 45015: "wechat.outside_window", 45047: "wechat.outside_window",
             40003: "wechat.invalid_openid", 43101: "wechat.not_subscribed"}


def wechat_error(errcode: int, errmsg: str, *, appid: str | None = None) -> ChannelError:
    """The ChannelError an errcode means; with the sending ``appid``, a 43004 carries the
    ``Unfollowed`` event (scoped to that account) for the person's timeline."""
    detail = f"errcode {errcode}: {errmsg}"[:500]
    if errcode in DAILY_QUOTA:
        resets = next_midnight(clock.now(), QUOTA_ZONE)
        local = resets.astimezone(ZoneInfo(QUOTA_ZONE)).isoformat(timespec="minutes")
        return ChannelError(DAILY_QUOTA[errcode], f"{detail[:400]} — the account's daily quota for this API is used "
                            f"up; held until it resets at {local} (00:00 Beijing time)", retryable=True,
                            retry_at=resets)
    if errcode in RETRYABLE:
        return ChannelError(RETRYABLE[errcode], detail, retryable=True)
    if errcode == UNFOLLOWED and appid is not None:
        return ChannelError(PERMANENT[errcode], detail, retryable=False,
                            person_event=("Unfollowed", {"appid": appid, "errcode": errcode}))
    if errcode in CREDENTIAL_ERRORS:
        return ChannelError("wechat.credentials", detail, retryable=False)
    return ChannelError(PERMANENT.get(errcode, "wechat.rejected"), detail, retryable=False)


def payload_problem(kind: str, payload: Any) -> tuple[str, str] | None:
    """``(field, what is wrong)`` when ``payload`` can't be sent as this kind of message, else None."""
    if not isinstance(payload, dict):
        return "content", "must be an object"
    if kind in (TEMPLATE, SUBSCRIBE):
        if not isinstance(payload.get("template_id"), str) or not payload["template_id"].strip():
            return "template_id", f"a {'template' if kind == TEMPLATE else 'subscribe'} message needs the account's "\
                "'template_id'"
        if kind == SUBSCRIBE and "page" in payload and not isinstance(payload["page"], str):
            return "page", "must be the web page to open (text)"
        data = payload.get("data")
        if not isinstance(data, dict) or not data or not all(
                isinstance(item, dict) and isinstance(item.get("value"), str) for item in data.values()):
            return "data", "must map each key of the template (thing1, …) to {\"value\": text}"
        mini = payload.get("miniprogram")
        if mini is not None and not (isinstance(mini, dict) and all(
                isinstance(mini.get(key), str) for key in ("appid", "pagepath"))):
            return "miniprogram", "needs 'appid' and 'pagepath'"
        return None
    msgtype = payload.get("msgtype")
    if msgtype not in CS_FIELDS:
        return "msgtype", f"must be one of {', '.join(CS_FIELDS)}"
    block = payload.get(msgtype)
    if not isinstance(block, dict):
        return msgtype, "must be an object"
    if msgtype == "news":
        articles = block.get("articles")
        if not (isinstance(articles, list) and len(articles) == 1 and isinstance(articles[0], dict)
                and all(isinstance(articles[0].get(key), str) for key in ("title", "url"))):
            return "news.articles", "must hold exactly one article with 'title' and 'url'"
        return None
    for key in CS_FIELDS[msgtype]:
        if not isinstance(block.get(key), str) or not block[key].strip():
            return f"{msgtype}.{key}", "is required"
    return None




class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with a token handed in. Its own ``fetch_access_token`` would call
    ``/cgi-bin/token`` at a hard-coded api.weixin.qq.com (ignoring ``API_BASE_URL``), so it must
    never run: tokens come from :data:`TOKENS`."""

    def fetch_access_token(self) -> dict[str, Any]:
        raise RuntimeError("siyu hands wechatpy its access token; it must not fetch one itself")


@dataclass
class WeChatChannel:
    kind: str  # TEMPLATE or CUSTOMER_SERVICE
    appid: str
    secret: str
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 10.0
    tokens: TokenCache = field(default_factory=lambda: TOKENS)
    idempotent: bool = False  # see the module docstring

    @classmethod
    def from_settings(cls, kind: str, config: Mapping[str, Any]) -> WeChatChannel:
        base_url = str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return cls(kind=kind, appid=str(config["appid"]), secret=str(config["secret"]), base_url=base_url)

    def send(self, delivery: Delivery) -> str | None:
        problem = payload_problem(self.kind, delivery.payload)
        if problem is not None:
            raise ChannelError("wechat.bad_payload", f"{problem[0]}: {problem[1]}", retryable=False)
        body = {"touser": self.openid(delivery.recipient), **delivery.payload}
        if self.kind == TEMPLATE:  # letters, digits and "_" like WeChat's example (MSG_000001)
            body.setdefault("client_msg_id", "siyu_" + delivery.key.replace(":", "_"))
        return with_fresh_token(self.tokens, (self.base_url, self.appid), self.access_token,
                                lambda token: self._post(token, body), "wechat")

    def openid(self, recipient: str) -> str:
        app, colon, openid = recipient.partition(":")
        if not colon:
            return recipient  # an openid recorded without its app: taken as this account's
        if app != self.appid:
            raise ChannelError("wechat.other_app", f"The person's openid belongs to {app}, not to the account set up "
                               f"in settings.channels.wechat ({self.appid}).", retryable=False)
        return openid

    def access_token(self) -> str:
        return self.tokens.token((self.base_url, self.appid), self._fetch_token)

    def _fetch_token(self) -> tuple[str, int]:
        try:
            response = http.client().post(f"{self.base_url}/cgi-bin/stable_token", timeout=self.timeout, json={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": False})
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:  # nothing reached a person: try again later
            raise ChannelError("wechat.unreachable", f"stable_token: {type(error).__name__}: {error}",
                               retryable=True) from None
        if response.status_code != 200 or not isinstance(answer, dict):
            raise ChannelError("wechat.unreachable", f"stable_token: HTTP {response.status_code}", retryable=True)
        if answer.get("errcode"):
            detail = f"stable_token errcode {answer['errcode']}: {answer.get('errmsg', '')}"[:500]
            if int(answer["errcode"]) in CREDENTIAL_ERRORS:
                raise ChannelError("wechat.credentials", detail, retryable=False)
            raise ChannelError("wechat.token", detail, retryable=True)
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))

    def _post(self, token: str, body: dict[str, Any]) -> str | None:
        client = _Client(self.appid, self.secret, access_token=token, timeout=self.timeout, auto_retry=False)
        client.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        answer = platform_answer(lambda: client.post(ENDPOINTS[self.kind], data=body), platform="wechat",
                                 stale=STALE_TOKEN, refusal=lambda code, message: wechat_error(
                                     code, message, appid=self.appid), lost="the message may have been sent")
        return None if answer.get("msgid") is None else str(answer["msgid"])
