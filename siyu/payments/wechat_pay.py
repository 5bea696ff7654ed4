"""WeChat Pay cash red packets (商户平台 现金红包, API v2), through wechatpy's ``WeChatPay`` client.

``sendredpack`` and ``gethbinfo`` are XML over HTTPS with the merchant's API certificate; each
request is signed with the MD5 of its sorted ``key=value`` pairs and the API key (wechatpy signs
HMAC-SHA256 when ``sign_type`` says so). :class:`WeChatPayCash` turns every answer, error and
transport fault into an :class:`~siyu.payments.models.Answer` whose outcome says what the ledger may
do next (:func:`siyu.payments.rules.send_outcome`): a lost answer is UNKNOWN, never a failure.

Settings (``settings.payments.wechat_pay``): ``appid`` (the official account bound to the merchant:
red packets go to openids under it), ``mch_id``, ``api_key``, ``cert_path`` and ``key_path`` (the
merchant's apiclient_cert.pem / apiclient_key.pem), ``send_name`` (商户名称, ≤ 32 characters),
``client_ip`` (the calling machine's address, sent as WeChat asks), ``base_url`` (WeChat's by
default; a local fake in tests and the sandbox) and ``timeout`` (seconds, default 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import requests
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from siyu.payments.errors import PaymentsNotConfigured
from siyu.payments.models import Answer, Outcome
from siyu.payments.rules import query_outcome, send_outcome

BASE_URL = "https://api.mch.weixin.qq.com/"
PROVIDER = "wechat_pay"


class CashProvider(Protocol):
    """What the ledger needs from a provider of cash rewards."""

    name: str
    appid: str
    mch_id: str

    def send(self, *, bill_no: str, openid: str, amount_fen: int, wishing: str, act_name: str, remark: str,
             scene_id: str | None) -> Answer: ...

    def query(self, bill_no: str) -> Answer: ...


@dataclass
class WeChatPayCash:
    appid: str
    mch_id: str
    api_key: str
    send_name: str
    client_ip: str = "127.0.0.1"
    base_url: str = BASE_URL
    cert_path: str | None = None
    key_path: str | None = None
    timeout: float = 10.0
    name: str = PROVIDER

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> WeChatPayCash:
        config = ((settings or {}).get("payments") or {}).get("wechat_pay")
        missing = [k for k in ("appid", "mch_id", "api_key", "send_name")
                   if not isinstance(config, dict) or not config.get(k)]
        if missing:
            raise PaymentsNotConfigured(f"settings.payments.wechat_pay needs {', '.join(missing)} to pay red packets.",
                                        details={"missing": missing})
        assert isinstance(config, dict)
        return cls(appid=str(config["appid"]), mch_id=str(config["mch_id"]), api_key=str(config["api_key"]),
                   send_name=str(config["send_name"])[:32], client_ip=str(config.get("client_ip") or "127.0.0.1"),
                   base_url=str(config.get("base_url") or BASE_URL), cert_path=config.get("cert_path"),
                   key_path=config.get("key_path"), timeout=float(config.get("timeout") or 10.0))

    def _client(self) -> WeChatPay:
        client = WeChatPay(self.appid, self.api_key, self.mch_id, mch_cert=self.cert_path, mch_key=self.key_path,
                           timeout=self.timeout)
        client.API_BASE_URL = self.base_url.rstrip("/") + "/"
        return client

    def send(self, *, bill_no: str, openid: str, amount_fen: int, wishing: str, act_name: str, remark: str,
             scene_id: str | None) -> Answer:
        try:
            # client_ip is always given: wechatpy would otherwise resolve WeChat's host to find it
            data = self._client().redpack.send(openid, amount_fen, self.send_name, act_name, wishing, remark,
                                               client_ip=self.client_ip, out_trade_no=bill_no, scene_id=scene_id)
        except WeChatPayException as error:
            return _refusal(error, send_outcome)
        except requests.RequestException as error:  # timeout, reset: maybe paid
            return Answer(Outcome.UNKNOWN, "transport", f"{type(error).__name__}: {error}"[:500])
        if not isinstance(data, dict):  # an answer that could not be parsed: never a new bill number
            return Answer(Outcome.UNKNOWN, "unparsable", str(data)[:500])
        return Answer(Outcome.PAID, provider_id=data.get("send_listid"), provider_status="SENT")

    def query(self, bill_no: str) -> Answer:
        try:
            data = self._client().redpack.query(bill_no)
        except WeChatPayException as error:
            return _refusal(error, lambda code: query_outcome(None, code))
        except requests.RequestException as error:
            return Answer(Outcome.UNKNOWN, "transport", f"{type(error).__name__}: {error}"[:500])
        if not isinstance(data, dict):
            return Answer(Outcome.UNKNOWN, "unparsable", str(data)[:500])
        status = data.get("status")
        return Answer(query_outcome(status, None), code=None if status in ("SENT", "RECEIVED") else status,
                      detail=data.get("reason"), provider_id=data.get("detail_id"), provider_status=status)


def _refusal(error: WeChatPayException, outcome_of: Any) -> Answer:
    if error.return_code is None:  # an HTTP error status: nothing says whether it was processed
        return Answer(Outcome.UNKNOWN, "http_error", str(error)[:500])
    if error.return_code != "SUCCESS":  # 通信标识 FAIL: the request was not taken (signature, format)
        return Answer(Outcome.REFUSED, "RETURN_FAIL", (error.return_msg or "")[:500])
    return Answer(outcome_of(error.errcode or "SYSTEMERROR"), error.errcode, (error.errmsg or "")[:500])
