"""The callback wire format of WeChat official accounts and WeCom, read and written. Pure.

Both platforms POST XML to the server URL with ``timestamp`` and ``nonce`` in the query string.

- Official account (developers.weixin.qq.com/doc/offiaccount, 消息加解密说明): ``signature =
  sha1(sorted(token, timestamp, nonce))`` on every request. In plaintext mode the body is the
  message; in compatible mode it carries the message *and* ``<Encrypt>``; in safe mode only
  ``<Encrypt>``, signed by ``msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt))``. The
  server-URL check is a GET answered with ``echostr`` as it came.
- WeCom (developer.work.weixin.qq.com/document/path/91144, 加解密方案说明): always encrypted and
  signed with ``msg_signature``; the URL check's ``echostr`` is ciphertext, answered decrypted.

The ciphertext is ``base64(AES-256-CBC(random16 + len4 + msg + receive_id))`` with the key
``base64(EncodingAESKey + "=")`` — wechatpy's ``PrpCrypto`` reads and writes it, and raises when the
receive id (the appid, or the corpid) is not ours. wechatpy compares signatures with ``!=`` and
checks no timestamp; siyu checks the signature itself in constant time (``hmac.compare_digest``)
and refuses a timestamp more than 5 minutes from its clock, either side (the specs set no window;
WeChat Pay v3 uses 5 minutes). Replays inside the window are dropped by the ingest dedupe.

XML with a DTD is refused outright (the platforms never send one; without a DTD there are no
entities: no XXE, no billion laughs), and bodies are capped at 64 KiB before parsing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree

from wechatpy.crypto import PrpCrypto as WeChatPrp
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrp
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException

from siyu.callbacks.errors import refused
from siyu.callbacks.hooks import Reply
from siyu.messaging.receipt_formats import FRESHNESS, MAX_BODY

MAX_ECHOSTR = 1024


@dataclass(frozen=True)
class Endpoint:
    """One workspace's callback settings for one platform. ``receive_id`` is the appid (official
    account) or the corpid (WeCom): the id the platform puts at the end of every ciphertext."""

    platform: str  # "wechat" | "wecom"
    token: str
    aes_key: str | None
    receive_id: str

    def key(self) -> bytes:
        """The AES key, or ``encrypted`` when none (or not a valid one) is set up."""
        if not self.aes_key:
            section = "wechat" if self.platform == "wechat" else "wecom"
            raise refused(self.platform, "encrypted", "The push is encrypted (safe mode) and "
                          f"settings.channels.{section}.encoding_aes_key is not set: copy the EncodingAESKey "
                          "from the platform's server configuration.")
        return base64.b64decode(self.aes_key + "=")


def valid_aes_key(value: object) -> bool:
    """An EncodingAESKey: 43 characters of base64 decoding to 32 bytes."""
    if not isinstance(value, str) or len(value) != 43:
        return False
    try:
        return len(base64.b64decode(value + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_fresh(platform: str, timestamp: str, now: datetime) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        sent = None
    if sent is None or abs(now.timestamp() - sent) > FRESHNESS.total_seconds():
        raise refused(platform, "bad_signature", "The callback's timestamp is missing or more than 5 minutes from "
                      "now: check the server clock.")


def check_signature(endpoint: Endpoint, given: str, timestamp: str, nonce: str, *more: str) -> None:
    """Raise ``bad_signature`` unless ``given`` is the platform's signature of these values."""
    expected = signature(endpoint.token, timestamp, nonce, *more)
    if not hmac.compare_digest(expected, (given or "").lower()):
        section = "wechat.token" if endpoint.platform == "wechat" else "wecom.callback_token"
        raise refused(endpoint.platform, "bad_signature", "The callback's signature does not match "
                      f"settings.channels.{section}: set the same token here and in the platform's server "
                      "configuration.")


def fields_of(platform: str, body: bytes) -> dict[str, str]:
    """A push's top-level elements as text; an element with children (``MemChangeList``) becomes
    its children's texts joined by commas."""
    if len(body) > MAX_BODY:
        raise refused(platform, "too_large", "The callback body is too large.")
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise refused(platform, "invalid", "XML with a DTD is refused.")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise refused(platform, "invalid", f"The callback body is not XML: {error}.") from None
    if root.tag != "xml":
        raise refused(platform, "invalid", "The callback body is not a push (<xml>…</xml>).")
    fields: dict[str, str] = {}
    for child in root:
        if len(child):
            fields[child.tag] = ",".join((item.text or "").strip() for item in child)
        else:
            fields[child.tag] = (child.text or "").strip()
    return fields


def decrypt(endpoint: Endpoint, ciphertext: str) -> str:
    """The plaintext of ``<Encrypt>`` (or of WeCom's ``echostr``), checked to be for our receive id."""
    prp = (WeChatPrp if endpoint.platform == "wechat" else WeComPrp)(endpoint.key())
    try:
        return str(prp.decrypt(ciphertext, endpoint.receive_id))
    except (InvalidAppIdException, InvalidCorpIdException):
        raise refused(endpoint.platform, "undecryptable", "The push was encrypted for another app or corp than the "
                      "one set up in this workspace.") from None
    except (ValueError, struct.error, IndexError, TypeError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise refused(endpoint.platform, "undecryptable", "The encrypted push could not be decrypted: check "
                      "encoding_aes_key.") from None


def encrypt_reply(endpoint: Endpoint, xml: str, nonce: str, timestamp: str) -> str:
    """The reply envelope of safe mode: ``<Encrypt>``, ``<MsgSignature>``, ``<TimeStamp>``, ``<Nonce>``."""
    crypto_class = WeChatCrypto if endpoint.platform == "wechat" else WeComCrypto
    crypto = crypto_class(endpoint.token, endpoint.aes_key, endpoint.receive_id)
    return str(crypto.encrypt_message(xml, nonce, timestamp))


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(to_user: str, from_user: str, reply: Reply, at: int) -> str:
    """A passive reply (被动回复用户消息): text with ``Content``, image with ``MediaId``, news with one article."""
    head = (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
            f"<CreateTime>{at}</CreateTime><MsgType>{_cdata(reply.kind)}</MsgType>")
    if reply.kind == "text":
        return head + f"<Content>{_cdata(reply.content)}</Content></xml>"
    if reply.kind == "image":
        return head + f"<Image><MediaId>{_cdata(reply.media_id)}</MediaId></Image></xml>"
    if reply.kind == "news":
        article = (f"<item><Title>{_cdata(reply.title)}</Title><Description>{_cdata(reply.content)}</Description>"
                   f"<PicUrl>{_cdata(reply.pic_url)}</PicUrl><Url>{_cdata(reply.url)}</Url></item>")
        return head + f"<ArticleCount>1</ArticleCount><Articles>{article}</Articles></xml>"
    raise ValueError(f"no passive reply of kind {reply.kind!r}")
