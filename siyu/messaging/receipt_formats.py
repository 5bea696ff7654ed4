"""The providers' receipt formats, read and checked: WeChat's callback signature and its
``TEMPLATESENDJOBFINISH`` event, and Aliyun's SMS status report push (SmsReport). Pure.

WeChat (developers.weixin.qq.com/doc/offiaccount, 模板消息 → 事件推送): after a template message is
sent, WeChat POSTs to the account's server URL, signed in the query string —
``signature = sha1(sorted(token, timestamp, nonce) joined)`` — an XML body::

    <xml><ToUserName>gh_…</ToUserName><FromUserName>openid</FromUserName><CreateTime>…</CreateTime>
    <MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID>
    <Status>success</Status></xml>

with ``Status`` ``success``, ``failed:user block`` (the person refused the account's messages) or
``failed: system failed`` (others seen in the wild, such as ``failed:freq limit``, count as failed).
Only plaintext and compatible mode are read here; safe mode (``<Encrypt>`` alone) is refused with
``receipts.encrypted``. The spec sets no freshness window; siyu accepts ``timestamp`` within 5
minutes either side of its clock (WeChat Pay v3's window) and compares in constant time. Replays
inside the window change nothing: each receipt is applied by a guarded update, once.

Aliyun (help.aliyun.com/zh/sms/developer-reference/smsreport-2, HTTP 批量推送模式): a JSON array
POSTed to the URL set in the SMS console, each item ``{"phone_number", "send_time", "report_time",
"success", "err_code", "err_msg", "sms_size", "biz_id", "out_id"}``; the answer must be HTTP 200
with ``{"code": 0, "msg": "接收成功"}``, else Aliyun pushes again after 1, 5 and 10 minutes. Aliyun
does not sign these pushes, so the URL carries a secret of the workspace's (``report_token``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.etree import ElementTree

import orjson

from siyu.errors import SiyuError

MAX_BODY = 64 * 1024  # a receipt is a few hundred bytes; Aliyun batches, still far below this
FRESHNESS = timedelta(minutes=5)
TEMPLATE_FINISHED = "TEMPLATESENDJOBFINISH"
WECHAT_FAILURES = {"failed:user block": "wechat.user_block", "failed: system failed": "wechat.system_failed"}


class ReceiptError(SiyuError):
    code = "receipts.invalid"
    status = 400


# --- WeChat -----------------------------------------------------------------------------------


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


def check_wechat_signature(token: str, signature: str, timestamp: str, nonce: str, now: datetime) -> None:
    """Raise ``receipts.bad_signature`` (403) unless WeChat signed this request, recently."""
    try:
        sent = int(timestamp)
    except ValueError:
        sent = None
    if sent is None or abs(now.timestamp() - sent) > FRESHNESS.total_seconds():
        raise ReceiptError("The callback's timestamp is missing or more than 5 minutes from now: check the "
                           "server clock.", code="receipts.bad_signature", status=403)
    if not hmac.compare_digest(wechat_signature(token, timestamp, nonce), signature.lower()):
        raise ReceiptError("The callback's signature does not match settings.channels.wechat.token: set the "
                           "same token here and in the account's server configuration.",
                           code="receipts.bad_signature", status=403)


def wechat_fields(body: bytes) -> dict[str, str]:
    """The callback's top-level elements as text. Refuses DTDs outright (WeChat never sends one, and
    no DTD means no entity expansion: no XXE, no billion laughs) and anything that isn't ``<xml>``."""
    if len(body) > MAX_BODY:
        raise ReceiptError("The callback body is too large.", code="receipts.too_large", status=413)
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise ReceiptError("XML with a DTD is refused.", code="receipts.invalid")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise ReceiptError(f"The callback body is not XML: {error}.", code="receipts.invalid") from None
    if root.tag != "xml":
        raise ReceiptError("The callback body is not a WeChat message (<xml>…</xml>).", code="receipts.invalid")
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class TemplateResult:
    msgid: str
    openid: str
    status: str  # success | failed:user block | failed: system failed | …

    @property
    def delivered(self) -> bool:
        return self.status == "success"

    @property
    def reason(self) -> str:
        return WECHAT_FAILURES.get(self.status, "wechat.undelivered")


def template_result(fields: dict[str, str]) -> TemplateResult | None:
    """The template message's result, if this callback is one; None for any other event."""
    if "Encrypt" in fields and "MsgType" not in fields:
        raise ReceiptError("The callback is encrypted (safe mode). Use plaintext or compatible mode for now.",
                           code="receipts.encrypted")
    if fields.get("MsgType") != "event" or fields.get("Event") != TEMPLATE_FINISHED:
        return None
    msgid = fields.get("MsgID") or fields.get("MsgId") or ""
    if not msgid.isdigit() or not fields.get("Status"):
        raise ReceiptError("TEMPLATESENDJOBFINISH without a numeric MsgID and a Status.", code="receipts.invalid")
    return TemplateResult(msgid=msgid, openid=fields.get("FromUserName", ""), status=fields["Status"])


# --- Aliyun SMS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsReport:
    biz_id: str
    out_id: str | None
    success: bool
    err_code: str
    err_msg: str
    phone_number: str
    report_time: str | None


def sms_reports(body: bytes) -> list[SmsReport]:
    """The reports of one push; ``receipts.invalid`` (400) for anything but Aliyun's array."""
    if len(body) > MAX_BODY * 16:
        raise ReceiptError("The report body is too large.", code="receipts.too_large", status=413)
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ReceiptError("The report body is not JSON.", code="receipts.invalid") from None
    if not isinstance(items, list):
        raise ReceiptError("An SMS report push is a JSON array.", code="receipts.invalid")
    reports = []
    for at, item in enumerate(items):
        if not (isinstance(item, dict) and isinstance(item.get("biz_id"), str) and item["biz_id"]
                and isinstance(item.get("success"), bool)):
            raise ReceiptError(f"Report {at} needs 'biz_id' and a boolean 'success'.", code="receipts.invalid",
                               details={"index": at})
        reports.append(SmsReport(biz_id=item["biz_id"], out_id=_text(item.get("out_id")), success=item["success"],
                                 err_code=_text(item.get("err_code")) or "", err_msg=_text(item.get("err_msg")) or "",
                                 phone_number=_text(item.get("phone_number")) or "",
                                 report_time=_text(item.get("report_time"))))
    return reports


def _text(value: object) -> str | None:
    return None if value is None else str(value)[:200]
