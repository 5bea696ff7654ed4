"""WeCom (企业微信): a message to one external contact through the company mass-message API
(创建企业群发, ``POST /cgi-bin/externalcontact/add_msg_template``, developer.work.weixin.qq.com
path/92135), called through ``wechatpy``'s WeCom client.

Settings: ``settings.channels.wecom = {"corpid", "secret", "base_url"?, "sender"?}`` — the secret of
an app allowed to call the customer-contact APIs (客户联系 → 可调用接口的应用). The recipient is
``"<corpid>:<external_userid>"`` (an external user id is per corp), optionally followed by
``"/<staff userid>"``: the member who owns the customer (who added them). Without an owner the
workspace default ``sender`` sends; a customer of another corp fails as ``wecom.other_corp``.

What a send is. The API does not message the customer: it creates a task (``chat_type: single``,
one ``external_userid``, the ``sender``) that the member confirms in the WeCom client, and WeCom
delivers it only to customers who can still receive mass messages — each customer receives at
most as many a month as the month has days (or 7 a week / 1 a day if the admin chose so; the
contact policy keeps to the same rule). ``msgid`` comes back as the provider id; a customer WeCom
could not include comes back in ``fail_list`` and fails the message as ``wecom.not_delivered``.

Access tokens (``GET /cgi-bin/gettoken?corpid&corpsecret``, path/91039): cached per app and per
process, not fetched per send — "不能频繁调用gettoken接口，否则会受到频率拦截" — and refreshed once
when WeCom refuses the cached one (40014 invalid, 42001 expired, 41001 missing): WeCom "may end a
token early", and the refused call created nothing, so it is safe to retry.

Errcodes are translated where they change what siyu does, the raw code kept in the detail (global
codes, path/90455): −1 (busy), 45009 (API frequency) and 45033 (concurrent calls) are retried
later; bad corp id / secret, an IP not on the app's list (60020) → ``wecom.credentials``; 48002
(the app may not call this API) → ``wecom.no_permission``; 84061 (not the member's external
contact) → ``wecom.not_contact``; 40096 (invalid external user id) → ``wecom.invalid_external_userid``;
40003 (unknown member) → ``wecom.invalid_sender``; anything else → ``wecom.rejected``. A call that may
have reached WeCom without an answer fails as ``wecom.uncertain``: the API is not idempotent and a
second task would reach the customer twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from wechatpy.enterprise import WeChatClient

from siyu.channels import http
from siyu.channels.access_tokens import TOKENS, TokenCache, platform_answer, with_fresh_token
from siyu.channels.base import ChannelError, Delivery

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
# The attachment types of add_msg_template and the fields each needs (path/92135); the template
# engine's WECOM_BLOCKS is the same table (a test checks that they agree).
ATTACHMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "image": (), "link": ("title", "url"), "miniprogram": ("title", "pic_media_id", "appid", "page"),
    "video": ("media_id",), "file": ("media_id",)}
MAX_ATTACHMENTS = 9

STALE_TOKEN = frozenset({40014, 42001, 41001})  # invalid, expired, missing access_token
CREDENTIAL_ERRORS = frozenset({40001, 40013, 40091, 60020})  # secret, corp id, secret, IP not allowed
RETRYABLE = {-1: "wecom.busy", 45009: "wecom.rate_limited", 45033: "wecom.rate_limited"}
PERMANENT = {48002: "wecom.no_permission", 84061: "wecom.not_contact", 40096: "wecom.invalid_external_userid",
             40003: "wecom.invalid_sender"}


def wecom_error(errcode: int, errmsg: str) -> ChannelError:
    detail = f"errcode {errcode}: {errmsg}"[:500]
    if errcode in RETRYABLE:
        return ChannelError(RETRYABLE[errcode], detail, retryable=True)
    if errcode in CREDENTIAL_ERRORS:
        return ChannelError("wecom.credentials", detail, retryable=False)
    return ChannelError(PERMANENT.get(errcode, "wecom.rejected"), detail, retryable=False)


def payload_problem(payload: Any) -> tuple[str, str] | None:
    """``(field, what is wrong)`` when ``payload`` can't be sent as a WeCom message, else None:
    ``{"text": {"content"}, "attachments": [{"msgtype": …, <msgtype>: {…}}]}``, text or ≥ 1 attachment."""
    if not isinstance(payload, dict):
        return "content", "must be an object"
    text = payload.get("text")
    if text is not None and not (isinstance(text, dict) and isinstance(text.get("content"), str)
                                 and text["content"].strip()):
        return "text.content", "is required (text)"
    attachments = payload.get("attachments", [])
    if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
        return "attachments", f"must be a list of at most {MAX_ATTACHMENTS}"
    if text is None and not attachments:
        return "text", "a WeCom message needs text or at least one attachment"
    for index, item in enumerate(attachments):
        kind = item.get("msgtype") if isinstance(item, dict) else None
        if kind not in ATTACHMENT_FIELDS:
            return f"attachments[{index}].msgtype", f"must be one of {', '.join(ATTACHMENT_FIELDS)}"
        block = item.get(kind)
        if not isinstance(block, dict):
            return f"attachments[{index}].{kind}", "must be an object"
        if kind == "image" and not any(isinstance(block.get(key), str) and block[key] for key in ("media_id",
                                                                                                   "pic_url")):
            return f"attachments[{index}].image", "needs 'media_id' or 'pic_url'"
        for key in ATTACHMENT_FIELDS[kind]:
            if not isinstance(block.get(key), str) or not block[key].strip():
                return f"attachments[{index}].{kind}.{key}", "is required"
    return None


def split_recipient(recipient: str) -> tuple[str | None, str, str | None]:
    """``"corp:external/owner"`` → ``(corp, external_userid, owner)``; corp and owner may be absent."""
    scoped, _, owner = recipient.partition("/")
    corp, colon, external = scoped.partition(":")
    if not colon:
        corp, external = "", scoped
    return corp or None, external, owner or None


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client with a token handed in: its own ``fetch_access_token`` calls a
    hard-coded qyapi.weixin.qq.com, so it must never run — tokens come from the cache."""

    def fetch_access_token(self) -> dict[str, Any]:
        raise RuntimeError("siyu hands wechatpy its access token; it must not fetch one itself")


@dataclass
class WeComChannel:
    corpid: str
    secret: str
    sender: str | None = None  # the default member, for customers whose owner siyu doesn't know
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 10.0
    tokens: TokenCache = field(default_factory=lambda: TOKENS)
    idempotent: bool = False  # see the module docstring

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> WeComChannel:
        base_url = str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return cls(corpid=str(config["corpid"]), secret=str(config["secret"]),
                   sender=str(config["sender"]) if config.get("sender") else None, base_url=base_url)

    @property
    def token_key(self) -> tuple[str, str]:
        # Each app of a corp has its own secret and its own token (path/91039): key by both, without
        # keeping the secret itself in the key.
        return self.base_url, f"{self.corpid}:{hashlib.sha256(self.secret.encode()).hexdigest()[:16]}"

    def send(self, delivery: Delivery) -> str | None:
        problem = payload_problem(delivery.payload)
        if problem is not None:
            raise ChannelError("wecom.bad_payload", f"{problem[0]}: {problem[1]}", retryable=False)
        corp, external_userid, owner = split_recipient(delivery.recipient)
        if corp is not None and corp != self.corpid:
            raise ChannelError("wecom.other_corp", f"The person's external user id belongs to corp {corp}, not to "
                               f"the one set up in settings.channels.wecom ({self.corpid}).", retryable=False)
        sender = owner or self.sender
        if not sender:
            raise ChannelError("wecom.no_sender", "No member owns this customer and settings.channels.wecom has no "
                               "default 'sender' (a member's userid).", retryable=False)
        body: dict[str, Any] = {"chat_type": "single", "external_userid": [external_userid], "sender": sender,
                **{key: delivery.payload[key] for key in ("text", "attachments") if key in delivery.payload}}
        answer = with_fresh_token(self.tokens, self.token_key, self.access_token,
                                  lambda token: self._post(token, body), "wecom")
        if external_userid in (answer.get("fail_list") or []):
            raise ChannelError("wecom.not_delivered", f"WeCom listed {external_userid} in fail_list: not a contact "
                               f"of {sender}, or past the customer's mass-message limit.", retryable=False)
        return None if answer.get("msgid") is None else str(answer["msgid"])

    def call(self, path: str, body: dict[str, Any], *, lost: str) -> dict[str, Any]:
        """POST ``body`` to ``/cgi-bin/<path>`` with the cached token (refreshed once when stale):
        WeCom's answer, or the ChannelError it means, as for a send. ``lost`` says what may have
        happened when the answer is lost. For other capabilities' calls (group chats, group tasks)."""
        def post(token: str) -> dict[str, Any]:
            client = _Client(self.corpid, self.secret, access_token=token, timeout=self.timeout, auto_retry=False)
            client.API_BASE_URL = f"{self.base_url}/cgi-bin/"
            return platform_answer(lambda: client.post(path, data=body), platform="wecom", stale=STALE_TOKEN,
                                   refusal=wecom_error, lost=lost)

        return with_fresh_token(self.tokens, self.token_key, self.access_token, post, "wecom")

    def access_token(self) -> str:
        return self.tokens.token(self.token_key, self._fetch_token)

    def _fetch_token(self) -> tuple[str, int]:
        try:
            response = http.client().get(f"{self.base_url}/cgi-bin/gettoken", timeout=self.timeout,
                                 params={"corpid": self.corpid, "corpsecret": self.secret})
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:  # nothing reached a person: try again later
            raise ChannelError("wecom.unreachable", f"gettoken: {type(error).__name__}: {error}",
                               retryable=True) from None
        if response.status_code != 200 or not isinstance(answer, dict):
            raise ChannelError("wecom.unreachable", f"gettoken: HTTP {response.status_code}", retryable=True)
        if answer.get("errcode"):
            errcode = int(answer["errcode"])
            refusal = wecom_error(errcode, f"gettoken: {answer.get('errmsg', '')}")
            if errcode in CREDENTIAL_ERRORS or refusal.retryable:
                raise refusal
            raise ChannelError("wecom.token", refusal.detail, retryable=True)
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))

    def _post(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        client = _Client(self.corpid, self.secret, access_token=token, timeout=self.timeout, auto_retry=False)
        client.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        return platform_answer(lambda: client.external_contact.add_msg_template(body), platform="wecom",
                               stale=STALE_TOKEN, refusal=wecom_error, lost="the task may have been created")
