"""SMS: one adapter over a provider interface, and Aliyun's SendSms (dysmsapi 2017-05-25) as provider.

The payload is what an approved provider template needs: ``{"sign_name", "template_code",
"params": {name: text}}`` — carriers in China only deliver pre-approved templates, so siyu never
sends free text. The recipient is the person's phone in E.164 (``+8613912345678``); each provider
turns it into its own format. Tencent Cloud SMS, the other large provider, takes the same four
things (its template parameters are positional: ``{"1": …, "2": …}`` in the same ``params``), which
is why the provider interface is this small.

Aliyun is called the way its current SDKs call it: an RPC-style ``POST /?<parameters>`` with an
empty body, signed with the V3 method (``ACS3-HMAC-SHA256`` in an ``Authorization`` header). The
older V2 signature (HMAC-SHA1 over the query, ``SignatureMethod``/``SignatureNonce`` parameters) is
marked "no longer recommended / discontinued" by Aliyun; V3 works for every API that has an SDK,
SendSms included (help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature).

SMS is not idempotent at the provider — "国内短信、国际短信及多媒体短信目前均不支持幂等的能力"
(SendSms API page) — so a message whose worker died mid-send is never sent again, and a request
that may have reached Aliyun without an answer (a read timeout) fails as ``sms.uncertain``
instead of being retried: Aliyun's advice is to check the delivery receipt before retrying, and
"never twice" wins over "at least once". The delivery key goes out as ``OutId`` so that receipts
(and that check) can find the message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import orjson

from siyu.channels import http
from siyu.channels.base import ChannelError, Delivery

# --- The provider interface --------------------------------------------------------------------


@dataclass(frozen=True)
class Sms:
    """One templated text to one phone, as every provider needs it."""

    phone: str  # E.164, as siyu stores phones
    sign_name: str  # the approved signature, without 【】
    template_code: str
    params: dict[str, str]
    out_id: str  # siyu's delivery key: comes back on receipts


class SmsProvider(Protocol):
    name: str

    def send(self, sms: Sms) -> str:
        """Send; return the provider's id for receipts. Raise :class:`ChannelError`."""
        ...


def payload_problem(payload: Any) -> tuple[str, str] | None:
    """``(field, what is wrong)`` when ``payload`` can't be sent as an SMS, else None."""
    if not isinstance(payload, dict):
        return "content", "must be an object"
    for key in ("sign_name", "template_code"):
        if not isinstance(payload.get(key), str) or not payload[key].strip():
            return key, f"an SMS needs '{key}' (approved by the provider)"
    params = payload.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        return "params", "must map each variable of the approved template to text"
    return None


@dataclass
class SmsChannel:
    """The delivery worker's adapter: checks the payload and the number, then asks the provider."""

    provider: SmsProvider
    idempotent: bool = False  # providers can't recognise a repeat: see the module docstring

    def send(self, delivery: Delivery) -> str | None:
        problem = payload_problem(delivery.payload)
        if problem is not None:
            raise ChannelError("sms.bad_payload", f"{problem[0]}: {problem[1]}", retryable=False)
        payload = delivery.payload
        return self.provider.send(Sms(phone=delivery.recipient.strip(), sign_name=payload["sign_name"].strip(),
                                      template_code=payload["template_code"].strip(),
                                      params=dict(payload.get("params", {})), out_id=delivery.key))


def sms_channel(config: Mapping[str, Any]) -> SmsChannel:
    """The adapter for ``settings.channels.sms``; KeyError / ValueError on bad settings."""
    provider = str(config.get("provider", "aliyun"))
    if provider not in PROVIDERS:
        raise ValueError(f"unknown SMS provider {provider!r}; available: {', '.join(PROVIDERS)}")
    return SmsChannel(PROVIDERS[provider](config))


# --- Aliyun: phone numbers ---------------------------------------------------------------------

E164 = re.compile(r"\+[1-9]\d{6,14}")
MAINLAND_MOBILE = re.compile(r"1\d{10}")


def aliyun_phone_number(phone: str) -> str:
    """E.164 → SendSms ``PhoneNumbers``: mainland mobiles as their 11 digits (``13912345678``),
    others as country code + number without ``+`` (``85261234567``), per the SendSms API page
    ("国内短信：+/+86/0086/86或无任何前缀的11位手机号码；国际/港澳台消息：国际区号+号码").
    Country codes are prefix-free, so ``+86`` is always the mainland (``+852`` is Hong Kong)."""
    if not E164.fullmatch(phone):
        raise ChannelError("sms.invalid_number", f"{phone!r} is not an E.164 phone number.", retryable=False)
    if phone.startswith("+86"):
        national = phone[3:]
        if not MAINLAND_MOBILE.fullmatch(national):
            raise ChannelError("sms.invalid_number", f"{phone} is not a mainland mobile number.", retryable=False)
        return national
    return phone[1:]


# --- Aliyun: the V3 signature (ACS3-HMAC-SHA256) -----------------------------------------------

ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986: unreserved characters stay, everything else is %XX of its UTF-8 (space → %20)."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))


def canonical_request(method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
                      body_sha256: str) -> tuple[str, str]:
    """The canonical request and its signed-header list. ``headers`` are exactly the signed ones
    (``host``, ``content-type`` and every ``x-acs-*``)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in names)
    signed = ";".join(names)
    return "\n".join((method.upper(), path, canonical_query(params), canonical_headers, signed, body_sha256)), signed


def acs3_signature(secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def signed_headers(*, access_key_id: str, access_key_secret: str, method: str, host: str, action: str,
                   version: str, params: Mapping[str, str], date: str, nonce: str) -> dict[str, str]:
    """The headers of an RPC call with its parameters in the query and an empty body."""
    headers = {"host": host, "x-acs-action": action, "x-acs-version": version, "x-acs-date": date,
               "x-acs-signature-nonce": nonce, "x-acs-content-sha256": EMPTY_BODY_SHA256}
    canonical, signed = canonical_request(method, "/", params, headers, EMPTY_BODY_SHA256)
    headers["Authorization"] = (f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},"
                                f"Signature={acs3_signature(access_key_secret, canonical)}")
    return headers


# --- Aliyun: what its answers mean ---------------------------------------------------------------

# Gateway refusals of the caller itself: the settings are wrong, every message would fail alike.
CREDENTIAL_CODES = frozenset({"SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId.NotFound",
                              "InvalidAccessKeyId.Inactive", "Forbidden.RAM", "isp.RAM_PERMISSION_DENY",
                              "isv.PRODUCT_UN_SUBSCRIPT", "isv.PRODUCT_UNSUBSCRIBE"})


def aliyun_error(status: int, code: str, message: str) -> ChannelError:
    """A SendSms answer other than ``OK``. Translated only where it changes what siyu does; the raw
    code leads the detail. Rate limits (``isv.BUSINESS_LIMIT_CONTROL``: per-number limits such as
    1/min, 5/h, 10/day for codes; gateway ``Throttling*``) and Aliyun's own failures (``isp.*``,
    5xx) are retried; everything else about the message (number, signature, template, parameters,
    balance) fails it for good."""
    detail = f"{code or f'HTTP {status}'}: {message}"[:500]
    if code in CREDENTIAL_CODES or status in (401, 403):
        return ChannelError("sms.credentials", detail, retryable=False)
    if code == "isv.BUSINESS_LIMIT_CONTROL" or code.startswith("Throttling") or status == 429:
        return ChannelError("sms.rate_limited", detail, retryable=True)
    if status >= 500 or code.startswith("isp.") or code in ("ServiceUnavailable", "InternalError"):
        return ChannelError("sms.unavailable", detail, retryable=True)
    if code == "isv.MOBILE_NUMBER_ILLEGAL":
        return ChannelError("sms.invalid_number", detail, retryable=False)
    return ChannelError("sms.rejected", detail, retryable=False)


def _wall_clock() -> datetime:
    # The provider checks x-acs-date against its own clock (15 minutes either side), so this is
    # real time, not siyu.clock (which tests move).
    return datetime.now(UTC)


@dataclass
class AliyunSms:
    """``settings.channels.sms = {"provider": "aliyun", "access_key_id", "access_key_secret",
    "endpoint"?}``; the endpoint defaults to ``https://dysmsapi.aliyuncs.com``."""

    access_key_id: str
    access_key_secret: str
    endpoint: str = "https://dysmsapi.aliyuncs.com"
    timeout: float = 10.0  # Aliyun recommends ≥ 1 s
    now: Callable[[], datetime] = field(default=_wall_clock)
    name: str = "aliyun"

    ACTION = "SendSms"
    VERSION = "2017-05-25"

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> AliyunSms:
        endpoint = str(config.get("endpoint") or cls.endpoint).rstrip("/")
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError("endpoint must be an http(s) URL")
        return cls(access_key_id=str(config["access_key_id"]), access_key_secret=str(config["access_key_secret"]),
                   endpoint=endpoint)

    def parameters(self, sms: Sms) -> dict[str, str]:
        params = {"PhoneNumbers": aliyun_phone_number(sms.phone), "SignName": sms.sign_name,
                  "TemplateCode": sms.template_code, "OutId": sms.out_id}
        if sms.params:  # "JSON参数接受字符串值": every value a string, which the payload check ensures
            params["TemplateParam"] = orjson.dumps(sms.params).decode()
        return params

    def send(self, sms: Sms) -> str:
        params = self.parameters(sms)
        url = httpx.URL(self.endpoint)
        host = url.netloc.decode()  # what goes out as Host, so that both sides sign the same value
        headers = signed_headers(access_key_id=self.access_key_id, access_key_secret=self.access_key_secret,
                                 method="POST", host=host, action=self.ACTION, version=self.VERSION, params=params,
                                 date=self.now().strftime("%Y-%m-%dT%H:%M:%SZ"), nonce=uuid.uuid4().hex)
        try:
            response = http.client().post(f"{self.endpoint}/?{canonical_query(params)}", headers=headers,
                                  timeout=self.timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # never reached Aliyun: safe to try again
            raise ChannelError("sms.unreachable", f"{type(error).__name__}: {error}", retryable=True) from None
        except httpx.HTTPError as error:
            raise ChannelError("sms.uncertain", f"{type(error).__name__}: {error} — the SMS may have been sent; "
                               "not sent again (SendSms is not idempotent).", retryable=False) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        code = str(answer.get("Code") or "")
        if response.status_code == 200 and code == "OK" and answer.get("BizId"):
            return str(answer["BizId"])
        raise aliyun_error(response.status_code, code, str(answer.get("Message") or response.text[:200]))


PROVIDERS: dict[str, Callable[[Mapping[str, Any]], SmsProvider]] = {"aliyun": AliyunSms.from_settings}
