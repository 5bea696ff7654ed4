"""A small WeCom customer-contact client for what wechatpy 1.8's WeCom client lacks or names
differently: a contact's details (``externalcontact/get``, path/92114), customer hand-overs
(在职继承 ``externalcontact/transfer_customer``, path/92125;
离职继承 ``externalcontact/resigned/transfer_customer``, path/96331 — at most 100 customers a call —
and their ``transfer_result`` polls) and contact ways (``externalcontact/add_contact_way`` /
``update_contact_way``, path/92228). It rides on the WeCom channel's access token cache and its
stale-token retry (:mod:`siyu.channels.access_tokens`), so a token is fetched once per process.

Settings are the WeCom channel's (``settings.channels.wecom``: corpid, secret, base_url).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from siyu.channels.access_tokens import platform_answer, with_fresh_token
from siyu.channels.base import ChannelError
from siyu.channels.wecom import STALE_TOKEN, WeComChannel, _Client, wecom_error

TRANSFER_BATCH = 100  # "最多一次转移100个客户" (path/96331, path/92125)

# transfer_result ``status`` (path/94088): 1 接替完毕, 2 等待接替, 3 客户拒绝, 4 接替成员客户达到上限,
# 5 无接替记录.
TAKEN_OVER, WAITING, CUSTOMER_REFUSED, TAKEOVER_FULL, NO_RECORD = 1, 2, 3, 4, 5


@dataclass
class ContactClient:
    channel: WeComChannel

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> ContactClient:
        config = ((settings or {}).get("channels") or {}).get("wecom")
        if not isinstance(config, Mapping) or not config.get("corpid") or not config.get("secret"):
            raise ChannelError("wecom.not_configured", "settings.channels.wecom needs 'corpid' and 'secret' (an app "
                               "allowed to call the customer-contact APIs).", retryable=False)
        return cls(WeComChannel.from_settings(config))

    def post(self, path: str, body: dict[str, Any], *, lost: str) -> dict[str, Any]:
        channel = self.channel

        def call(token: str) -> dict[str, Any]:
            client = _Client(channel.corpid, channel.secret, access_token=token, timeout=channel.timeout,
                             auto_retry=False)
            client.API_BASE_URL = f"{channel.base_url}/cgi-bin/"
            return platform_answer(lambda: client.post(path, data=body), platform="wecom", stale=STALE_TOKEN,
                                   refusal=wecom_error, lost=lost)

        return with_fresh_token(channel.tokens, channel.token_key, channel.access_token, call, "wecom")

    def get(self, path: str, params: dict[str, Any], *, lost: str) -> dict[str, Any]:
        channel = self.channel

        def call(token: str) -> dict[str, Any]:
            client = _Client(channel.corpid, channel.secret, access_token=token, timeout=channel.timeout,
                             auto_retry=False)
            client.API_BASE_URL = f"{channel.base_url}/cgi-bin/"
            return platform_answer(lambda: client.get(path, params=params), platform="wecom", stale=STALE_TOKEN,
                                   refusal=wecom_error, lost=lost)

        return with_fresh_token(channel.tokens, channel.token_key, channel.access_token, call, "wecom")

    def contact(self, external_userid: str) -> dict[str, Any]:
        """``externalcontact/get`` (path/92114): the contact's ``external_contact`` (``type`` 1 WeChat /
        2 WeCom user, ``name``, and ``unionid`` when the corp is bound to a WeChat open platform and
        the contact is a WeChat user). Its ``follow_user`` pages are not needed here: the first page."""
        answer = self.get("externalcontact/get", {"external_userid": external_userid}, lost="nothing changes on a read")
        return dict(answer.get("external_contact") or {})

    # --- hand-overs ---------------------------------------------------------------------------

    def transfer_customers(self, *, resigned: bool, handover: str, takeover: str, external_userids: list[str],
                           message: str | None = None) -> dict[str, int]:
        """Start hand-overs; WeCom's per-customer errcode (0: started, taken over 24 h later)."""
        body: dict[str, Any] = {"handover_userid": handover, "takeover_userid": takeover,
                                "external_userid": external_userids[:TRANSFER_BATCH]}
        if message and not resigned:
            body["transfer_success_msg"] = message
        path = "externalcontact/resigned/transfer_customer" if resigned else "externalcontact/transfer_customer"
        answer = self.post(path, body, lost="the hand-over may have started")
        return {str(item["external_userid"]): int(item.get("errcode", 0)) for item in answer.get("customer", [])}

    def transfer_results(self, *, resigned: bool, handover: str, takeover: str) -> dict[str, tuple[int, int]]:
        """``external_userid -> (status, takeover_time)`` for every hand-over between the two, all pages."""
        path = "externalcontact/resigned/transfer_result" if resigned else "externalcontact/transfer_result"
        found: dict[str, tuple[int, int]] = {}
        cursor = ""
        for _ in range(1000):  # a bound, not a limit anyone reaches: 1,000 pages
            body = {"handover_userid": handover, "takeover_userid": takeover, **({"cursor": cursor} if cursor else {})}
            answer = self.post(path, body, lost="nothing changes on a read")
            for item in answer.get("customer", []):
                found[str(item["external_userid"])] = (int(item.get("status", 0)), int(item.get("takeover_time", 0)))
            cursor = str(answer.get("next_cursor") or "")
            if not cursor:
                break
        return found

    # --- contact ways (channel codes) ---------------------------------------------------------

    def add_contact_way(self, *, state: str, users: list[str], remark: str = "",
                        skip_verify: bool = True) -> dict[str, Any]:
        """A QR contact way (scene 2) for these members; returns ``config_id`` and ``qr_code``. Always
        type 2 (多人): a contact way's type can't change later, and routing may offer one member or several."""
        body = {"type": 2, "scene": 2, "state": state, "user": users,
                "skip_verify": skip_verify, "remark": remark[:30]}
        return self.post("externalcontact/add_contact_way", body, lost="a contact way may have been created")

    def update_contact_way(self, *, config_id: str, users: list[str]) -> None:
        self.post("externalcontact/update_contact_way", {"config_id": config_id, "user": users},
                  lost="the members may have changed")
