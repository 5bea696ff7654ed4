"""WeCom welcome messages (欢迎语): ``POST /cgi-bin/externalcontact/send_welcome_msg`` with the
``WelcomeCode`` of an ``add_external_contact`` push (developer.work.weixin.qq.com/document/path/92137).

Unlike a mass message, the welcome message reaches the customer at once, without the member
confirming it — but only with a code that is fresh ("welcome_code 20秒内有效") and unused, so the
outbox row is due the moment the push is received. The payload is WeCom's: ``welcome_code``, optional
``text.content`` and up to 9 ``attachments`` (image, link, miniprogram, video, file), checked like a
mass message (:func:`siyu.channels.wecom.payload_problem`). wechatpy 1.8.18's WeCom client has no
wrapper for this API, so it is called with the client's raw ``post``; tokens, retries and errcodes
are the WeCom channel's. A refused code (used, or past its 20 seconds) fails the message for good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from siyu.channels.access_tokens import platform_answer, with_fresh_token
from siyu.channels.base import ChannelError, Delivery
from siyu.channels.wecom import STALE_TOKEN, WeComChannel, _Client, payload_problem, split_recipient, wecom_error

WELCOME_KEY = "welcome_code"  # a WeCom payload carrying it is a welcome message, not a mass message


def is_welcome(payload: Mapping[str, Any]) -> bool:
    return isinstance(payload.get(WELCOME_KEY), str) and bool(payload[WELCOME_KEY])


@dataclass
class WeComWelcomeChannel(WeComChannel):
    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> WeComWelcomeChannel:
        base = WeComChannel.from_settings(config)
        return cls(corpid=base.corpid, secret=base.secret, sender=base.sender, base_url=base.base_url)

    def send(self, delivery: Delivery) -> str | None:
        if not is_welcome(delivery.payload):
            raise ChannelError("wecom.bad_payload", "welcome_code: a welcome message needs the add event's code",
                               retryable=False)
        problem = payload_problem(delivery.payload)
        if problem is not None:
            raise ChannelError("wecom.bad_payload", f"{problem[0]}: {problem[1]}", retryable=False)
        corp, _, _ = split_recipient(delivery.recipient)
        if corp is not None and corp != self.corpid:
            raise ChannelError("wecom.other_corp", f"The customer belongs to corp {corp}, not to {self.corpid}.",
                               retryable=False)
        body = {key: delivery.payload[key] for key in (WELCOME_KEY, "text", "attachments") if key in delivery.payload}
        with_fresh_token(self.tokens, self.token_key, self.access_token, lambda token: self._welcome(token, body),
                         "wecom")
        return None

    def _welcome(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        client = _Client(self.corpid, self.secret, access_token=token, timeout=self.timeout, auto_retry=False)
        client.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        return platform_answer(lambda: client.post("externalcontact/send_welcome_msg", data=body), platform="wecom",
                               stale=STALE_TOKEN, refusal=wecom_error, lost="the welcome message may have been sent")
