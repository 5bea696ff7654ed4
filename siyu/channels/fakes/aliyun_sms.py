"""A fake Aliyun SMS endpoint (dysmsapi ``SendSms``) that checks requests the way Aliyun does.

It verifies the V3 signature from the request it received (headers, query, body hash, freshness of
``x-acs-date``, one use per nonce) and refuses a bad one with Aliyun's gateway codes
(``SignatureDoesNotMatch``, ``IncompleteSignature``, ``InvalidAccessKeyId.NotFound``, …); checks
numbers, signatures, templates and their parameters like SendSms (``isv.MOBILE_NUMBER_ILLEGAL``,
``isv.SMS_SIGNATURE_ILLEGAL``, ``isv.SMS_TEMPLATE_ILLEGAL``, ``isv.TEMPLATE_MISSING_PARAMETERS``);
records what it accepted; and fails on request with any code (:meth:`FakeAliyunSms.fail_next`,
:meth:`FakeAliyunSms.fail_number`).

Status reports go out like Aliyun's HTTP batch push (SmsReport, help.aliyun.com/zh/sms/developer-reference/
smsreport-2): :meth:`FakeAliyunSms.report` queues the report of an accepted SMS, and
:meth:`FakeAliyunSms.push_reports` POSTs every queued report as one JSON array to the receiving address
(``report_url``); reports stay queued until the answer is HTTP 200 with a numeric ``code``, the way
Aliyun pushes again after a failed push.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx

from siyu.channels.fakes.server import LoopbackServer, Request
from siyu.channels.sms import ALGORITHM, acs3_signature, canonical_request

FRESHNESS = 15 * 60  # seconds either side of x-acs-date that Aliyun accepts
# HTTP status and message of the codes the fake can answer with; SendSms's own (isv.*, isp.*) come
# with HTTP 200, the gateway's with 4xx/5xx.
CODES: dict[str, tuple[int, str]] = {
    "isv.BUSINESS_LIMIT_CONTROL": (200, "触发号码天级流控Permits:10"),
    "isv.DAY_LIMIT_CONTROL": (200, "触发日发送限额"),
    "isv.MOBILE_NUMBER_ILLEGAL": (200, "非法手机号"),
    "isv.TEMPLATE_MISSING_PARAMETERS": (200, "模板缺少变量"),
    "isv.SMS_SIGNATURE_ILLEGAL": (200, "该账号下找不到对应签名"),
    "isv.SMS_TEMPLATE_ILLEGAL": (200, "该账号下找不到对应模板"),
    "isv.INVALID_JSON_PARAM": (200, "JSON参数不合法，只接受字符串值"),
    "isv.AMOUNT_NOT_ENOUGH": (200, "账户余额不足"),
    "isp.SYSTEM_ERROR": (200, "系统错误"),
    "Throttling.User": (400, "Request was denied due to user flow control."),
    "SignatureDoesNotMatch": (400, "Specified signature does not match our calculation."),
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidAction.NotFound": (404, "Specified api is not found, please check your url and method."),
    "ServiceUnavailable": (503, "The request has failed due to a temporary failure of the server."),
    "InternalError": (500, "The request processing has failed due to some unknown error."),
}
MAINLAND = re.compile(r"(?:\+86|0086|86|\+)?(1\d{10})")
CHINA_TIME = timezone(timedelta(hours=8))  # report times are Beijing time, "2017-01-01 00:00:00"
INTERNATIONAL = re.compile(r"[1-9]\d{7,14}")


@dataclass(frozen=True)
class ReceivedSms:
    phone_numbers: str  # as sent on the wire
    sign_name: str
    template_code: str
    params: dict[str, Any]
    out_id: str | None
    biz_id: str
    sent_at: float = 0.0  # the fake's clock when it accepted the SMS


class FakeAliyunSms(LoopbackServer):
    """``keys`` maps access key ids to their secrets; ``signs`` and ``templates`` (code → variable
    names), when given, are the approved ones — anything else is refused like Aliyun does."""

    def __init__(self, keys: Mapping[str, str], *, signs: Iterable[str] | None = None,
                 templates: Mapping[str, Iterable[str]] | None = None, now: Callable[[], float] = time.time,
                 report_url: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.keys = dict(keys)
        self.report_url = report_url
        self.pending_reports: list[dict[str, Any]] = []
        self.signs = None if signs is None else set(signs)
        self.templates = None if templates is None else {code: tuple(names) for code, names in templates.items()}
        self.now = now
        self.received: list[ReceivedSms] = []
        self.refused: list[str] = []  # every code answered other than OK, in order
        self._nonces: dict[str, float] = {}
        self._scripted: list[str] = []
        self._numbers: dict[str, str] = {}
        super().__init__(host, port)

    def fail_next(self, *codes: str) -> None:
        """Answer the next well-signed requests with these codes, in order (then normally)."""
        with self.lock:
            self._scripted.extend(codes)

    def fail_number(self, phone_number: str, code: str) -> None:
        """Always answer ``code`` for this number (as Aliyun receives it: ``13912345678``)."""
        with self.lock:
            self._numbers[phone_number] = code

    def report(self, biz_id: str | None = None, *, success: bool = True, err_code: str = "DELIVERED",
               err_msg: str = "用户接收成功") -> dict[str, Any]:
        """Queue the status report of an accepted SMS (the latest one by default)."""
        with self.lock:
            sms = next(r for r in reversed(self.received) if biz_id is None or r.biz_id == biz_id)
            item = {"phone_number": sms.phone_numbers, "send_time": _china_time(sms.sent_at),
                    "report_time": _china_time(self.now()), "success": success, "err_code": err_code,
                    "err_msg": err_msg, "sms_size": "1", "biz_id": sms.biz_id, "out_id": sms.out_id or ""}
            self.pending_reports.append(item)
            return item

    def push_reports(self, timeout: float = 10.0) -> tuple[int, Any]:
        """POST the queued reports as one JSON array to ``report_url``; they are dropped only when the
        answer is HTTP 200 with a numeric ``code``. Returns the answer's status and JSON (or text)."""
        if not self.report_url:
            raise RuntimeError("set report_url (the SMS console's receiving address) before pushing reports")
        with self.lock:
            batch = list(self.pending_reports)
        response = httpx.post(self.report_url, content=json.dumps(batch, ensure_ascii=False).encode(),
                              headers={"Content-Type": "application/json"}, timeout=timeout)
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        if response.status_code == 200 and isinstance(answer, dict) and isinstance(answer.get("code"), int):
            with self.lock:
                self.pending_reports = self.pending_reports[len(batch):]
        return response.status_code, answer

    def handle(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            code = self._check_signature(request) or self._check_send(request)
            if code is None:
                return 200, self._accept(request)
            self.refused.append(code)
            status, message = CODES.get(code, (400 if code.startswith("Missing") else 200, code))
            return status, {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message,
                            "HostId": "dysmsapi.aliyuncs.com"}

    def _check_signature(self, request: Request) -> str | None:
        match = re.fullmatch(rf"{ALGORITHM} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)",
                             request.headers.get("authorization", ""))
        if match is None:
            return "IncompleteSignature"
        key_id, signed, given = match.groups()
        names = signed.split(";")
        signable = {n for n in request.headers if n in ("host", "content-type") or n.startswith("x-acs-")}
        if names != sorted(names) or set(names) != signable or "host" not in names:
            return "IncompleteSignature"  # every host / content-type / x-acs-* header must be signed
        if key_id not in self.keys:
            return "InvalidAccessKeyId.NotFound"
        body_sha256 = hashlib.sha256(request.body).hexdigest()
        if request.headers.get("x-acs-content-sha256") != body_sha256:
            return "SignatureDoesNotMatch"
        canonical, _ = canonical_request(request.method, request.path, request.query,
                                         {n: request.headers[n] for n in names}, body_sha256)
        if not hmac.compare_digest(acs3_signature(self.keys[key_id], canonical), given):
            return "SignatureDoesNotMatch"
        try:
            sent_at = datetime.strptime(request.headers.get("x-acs-date", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return "InvalidTimeStamp.Expired"
        now = self.now()
        if abs(now - sent_at.replace(tzinfo=UTC).timestamp()) > FRESHNESS:
            return "InvalidTimeStamp.Expired"
        self._nonces = {n: at for n, at in self._nonces.items() if now - at <= 2 * FRESHNESS}
        nonce = request.headers.get("x-acs-signature-nonce", "")
        if not nonce or nonce in self._nonces:
            return "SignatureNonceUsed"
        self._nonces[nonce] = now
        return None

    def _check_send(self, request: Request) -> str | None:
        if (request.headers.get("x-acs-action"), request.headers.get("x-acs-version")) != ("SendSms", "2017-05-25"):
            return "InvalidAction.NotFound"
        if self._scripted:
            return self._scripted.pop(0)
        query = request.query
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not query.get(name):
                return f"Missing{name}"
        numbers = query["PhoneNumbers"].split(",")
        for number in numbers:
            if number in self._numbers:
                return self._numbers[number]
            if not (MAINLAND.fullmatch(number) or INTERNATIONAL.fullmatch(number)):
                return "isv.MOBILE_NUMBER_ILLEGAL"
        if self.signs is not None and query["SignName"] not in self.signs:
            return "isv.SMS_SIGNATURE_ILLEGAL"
        try:
            params = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return "isv.INVALID_JSON_PARAM"
        if self.templates is not None:
            if query["TemplateCode"] not in self.templates:
                return "isv.SMS_TEMPLATE_ILLEGAL"
            if set(self.templates[query["TemplateCode"]]) - set(params):
                return "isv.TEMPLATE_MISSING_PARAMETERS"
        return None

    def _accept(self, request: Request) -> dict[str, str]:
        query = request.query
        biz_id = f"{900619746936498440 + len(self.received)}^0"
        self.received.append(ReceivedSms(
            phone_numbers=query["PhoneNumbers"], sign_name=query["SignName"], template_code=query["TemplateCode"],
            params=json.loads(query.get("TemplateParam") or "{}"), out_id=query.get("OutId"), biz_id=biz_id,
            sent_at=self.now()))
        return {"RequestId": str(uuid.uuid4()).upper(), "Code": "OK", "Message": "OK", "BizId": biz_id}


def _china_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
