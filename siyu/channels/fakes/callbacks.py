"""The platforms' side of a callback: pushes built, signed and (optionally) encrypted the way the
WeChat and WeCom servers do it, with wechatpy's crypto, sent over HTTP to a siyu server.

``FakeCallbacks`` takes any ``httpx.Client`` (a ``TestClient`` in-process, or a client of a live
server) and the callback path. Official account modes: ``plaintext`` (the message, ``signature``),
``compatible`` (the message plus ``<Encrypt>``, and ``msg_signature``) and ``safe`` (``<Encrypt>``
only); WeCom pushes are always encrypted. The builders return the push's fields, in the
platforms' own element names (developers.weixin.qq.com/doc/offiaccount 接收普通消息 / 接收事件推送;
developer.work.weixin.qq.com/document/path/92130 客户联系回调, path/92130 客户群变更事件).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import httpx
from wechatpy.crypto import PrpCrypto as WeChatPrp
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrp
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

MODES = ("plaintext", "compatible", "safe")


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(fields: Mapping[str, Any]) -> str:
    """``{"Content": "hi", "CreateTime": 1}`` → ``<xml><Content><![CDATA[hi]]></Content>…``; a list
    value becomes ``<Item>`` children (``MemChangeList``)."""
    parts = []
    for tag, value in fields.items():
        if isinstance(value, list | tuple):
            inner = "".join(f"<Item>{_cdata(str(item))}</Item>" for item in value)
        elif isinstance(value, int):
            inner = str(value)
        else:
            inner = _cdata(str(value))
        parts.append(f"<{tag}>{inner}</{tag}>")
    return "<xml>" + "".join(parts) + "</xml>"


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


@dataclass
class FakeCallbacks:
    """``receive_id`` is the appid (WeChat) or corpid (WeCom); ``now`` the platform's clock."""

    client: httpx.Client
    path: str
    platform: str  # "wechat" | "wecom"
    token: str
    receive_id: str
    aes_key: str | None = None
    mode: str = "plaintext"
    account: str = "gh_7f083739789a"  # the official account's original id (ToUserName)
    now: Callable[[], float] = time.time
    sent: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # (query, body) of each push
    _msg_ids: Any = field(default_factory=lambda: itertools.count(24_000_000_000_000_001))

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if (self.platform == "wecom" or self.mode != "plaintext") and not self.aes_key:
            raise ValueError("encrypted pushes need aes_key")

    # --- what goes over the wire -----------------------------------------------------------------

    def _prp(self) -> Any:
        crypto = (WeChatCrypto if self.platform == "wechat" else WeComCrypto)(self.token, self.aes_key,
                                                                             self.receive_id)
        return (WeChatPrp if self.platform == "wechat" else WeComPrp)(crypto.key)

    def encrypt(self, plaintext: str) -> str:
        return self._prp().encrypt(plaintext, self.receive_id).decode()

    def signed(self, fields: Mapping[str, Any], *, timestamp: int | None = None,
               nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """The query string and body the platform would send for this push."""
        stamp = str(int(self.now()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**9))
        plain = to_xml(fields)
        query = {"timestamp": stamp, "nonce": nonce}
        if self.platform == "wechat":
            query["signature"] = _signature(self.token, stamp, nonce)
            query["openid"] = str(fields.get("FromUserName", ""))
            if self.mode == "plaintext":
                return query, plain.encode()
            query["encrypt_type"] = "aes"
        encrypted = self.encrypt(plain)
        query["msg_signature"] = _signature(self.token, stamp, nonce, encrypted)
        if self.platform == "wechat" and self.mode == "compatible":
            body = plain.replace("</xml>", f"<Encrypt>{_cdata(encrypted)}</Encrypt></xml>")
        else:
            body = to_xml({"ToUserName": self.receive_id if self.platform == "wecom" else self.account,
                           "Encrypt": encrypted, **({"AgentID": fields["AgentID"]} if "AgentID" in fields else {})})
        return query, body.encode()

    def push(self, fields: Mapping[str, Any], **signing: Any) -> httpx.Response:
        query, body = self.signed(fields, **signing)
        self.sent.append((query, body))
        return self.client.post(self.path, params=query, content=body, headers={"Content-Type": "text/xml"})

    def resend(self, index: int = -1) -> httpx.Response:
        """A retry of an earlier push, exactly as it was (WeChat retries up to 3 times)."""
        query, body = self.sent[index]
        return self.client.post(self.path, params=query, content=body, headers={"Content-Type": "text/xml"})

    def verify(self, echostr: str = "5837421948213") -> httpx.Response:
        """The server-URL check the platform makes when the URL is saved."""
        stamp, nonce = str(int(self.now())), str(secrets.randbelow(10**9))
        if self.platform == "wechat":
            query = {"signature": _signature(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce,
                     "echostr": echostr}
        else:
            encrypted = self.encrypt(echostr)
            query = {"msg_signature": _signature(self.token, stamp, nonce, encrypted), "timestamp": stamp,
                     "nonce": nonce, "echostr": encrypted}
        return self.client.get(self.path, params=query)

    def reply(self, response: httpx.Response) -> dict[str, str]:
        """The passive reply's fields, decrypted (and its signature checked) in safe mode; {} for none."""
        text = response.text
        if not text.startswith("<xml"):
            return {}
        root = ElementTree.fromstring(text)
        fields = {child.tag: (child.text or "") for child in root}
        if "Encrypt" not in fields:
            return _flat(root)
        expected = _signature(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if expected != fields.get("MsgSignature"):
            raise AssertionError("the reply's MsgSignature does not match")
        return _flat(ElementTree.fromstring(self._prp().decrypt(fields["Encrypt"], self.receive_id)))

    # --- official-account pushes -------------------------------------------------------------------

    def _head(self, openid: str, msg_type: str) -> dict[str, Any]:
        return {"ToUserName": self.account, "FromUserName": openid, "CreateTime": int(self.now()), "MsgType": msg_type}

    def event(self, openid: str, event: str, **more: Any) -> dict[str, Any]:
        return {**self._head(openid, "event"), "Event": event, **more}

    def follow(self, openid: str, scene: str | None = None, ticket: str | None = None,
               unionid: str | None = None) -> dict[str, Any]:
        more: dict[str, Any] = {"EventKey": f"qrscene_{scene}", "Ticket": ticket or "gQH47joAAAAAAAAAASxodHRw"} \
            if scene else {}
        return self.event(openid, "subscribe", **more, **({"UnionId": unionid} if unionid else {}))

    def message(self, openid: str, msg_type: str = "text", **more: Any) -> dict[str, Any]:
        return {**self._head(openid, msg_type), **more, "MsgId": next(self._msg_ids)}

    def text(self, openid: str, content: str) -> dict[str, Any]:
        return self.message(openid, "text", Content=content)

    # --- WeCom pushes --------------------------------------------------------------------------------

    def _sys(self, event: str, change: str, **more: Any) -> dict[str, Any]:
        return {"ToUserName": self.receive_id, "FromUserName": "sys", "CreateTime": int(self.now()),
                "MsgType": "event", "Event": event, "ChangeType": change, **more}

    def contact(self, change: str, userid: str, external_userid: str, **more: Any) -> dict[str, Any]:
        """``add_external_contact`` (with ``State``, ``WelcomeCode``), ``edit_external_contact``,
        ``del_external_contact``, ``del_follow_user``, ``add_half_external_contact``."""
        return self._sys("change_external_contact", change, UserID=userid, ExternalUserID=external_userid, **more)

    def contact_added(self, userid: str, external_userid: str, state: str | None = None,
                      welcome_code: str | None = None) -> dict[str, Any]:
        more = {"State": state} if state else {}
        return self.contact("add_external_contact", userid, external_userid, **more,
                            WelcomeCode=welcome_code or secrets.token_urlsafe(16))

    def chat(self, change: str, chat_id: str, *, detail: str | None = None, members: Iterable[str] = (),
             **more: Any) -> dict[str, Any]:
        """``create`` / ``dismiss`` / ``update`` (``detail``: add_member, del_member, change_name, …)."""
        fields = self._sys("change_external_chat", change, ChatId=chat_id, **more)
        if detail:
            fields["UpdateDetail"] = detail
        members = list(members)
        if members:
            fields["MemChangeCnt"] = len(members)
            fields["MemChangeList"] = members
        return fields


def _flat(root: ElementTree.Element) -> dict[str, str]:
    """An XML reply as fields; nested elements are flattened as ``Parent.Child`` (``Image.MediaId``)."""
    found: dict[str, str] = {}
    for child in root:
        if len(child):
            for item in child.iter():
                if item is not child and not len(item):
                    found[f"{child.tag}.{item.tag}"] = item.text or ""
        else:
            found[child.tag] = child.text or ""
    return found
