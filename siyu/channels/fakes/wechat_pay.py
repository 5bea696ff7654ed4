"""A fake WeChat Pay merchant API (v2) for cash red packets: ``mmpaymkttransfers/sendredpack`` and
``mmpaymkttransfers/gethbinfo``, XML in and out, as wechatpy's ``WeChatPay`` client speaks it.

It checks what WeChat checks (pay.weixin.qq.com/doc/v2/merchant/4011974053): the request's sign
(MD5, or HMAC-SHA256 with ``sign_type``, over the sorted non-empty parameters and ``key=<API key>``;
a wrong one is ``return_code FAIL``); the appid bound to the merchant (ILLEGAL_APPID); ``mch_billno``
of 1–28 letters and digits; one packet of 1–200 yuan unless a ``scene_id`` is sent (MONEY_LIMIT); at
most 10 packets and 1,000 yuan per user per Beijing day (SENDNUM_LIMIT, RCVDAMOUNT_LIMIT); the
merchant's balance (NOTENOUGH). A bill number is re-entrant: the same request again answers as the
first time and pays nothing more; the same number with another openid or amount is FATAL_ERROR.

On request it fails: :meth:`FakeWeChatPay.fail_next` answers the next sends with an err_code
(SYSTEMERROR, NOTENOUGH, SENDNUM_LIMIT, ...) — optionally after paying, which is what SYSTEMERROR
can hide; :meth:`FakeWeChatPay.drop_next` pays and closes the connection without an answer (a lost
answer). :attr:`FakeWeChatPay.paid` lists every packet paid, once each.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
BILL_NO = re.compile(r"[0-9A-Za-z]{1,28}")
REQUIRED = ("nonce_str", "mch_billno", "mch_id", "wxappid", "send_name", "re_openid", "total_amount", "total_num",
            "wishing", "client_ip", "act_name", "remark")
ERRORS = {
    "SYSTEMERROR": "系统繁忙,请稍后再试。", "NOTENOUGH": "帐号余额不足,请到商户平台充值后再重试",
    "SENDNUM_LIMIT": "该用户今日领取红包个数超过限制", "RCVDAMOUNT_LIMIT": "该用户今日领取金额超过限制",
    "MONEY_LIMIT": "红包金额发放限制", "ILLEGAL_APPID": "非法appid,请确认是否为公众号的appid",
    "PARAM_ERROR": "参数错误", "FATAL_ERROR": "openid和原始单参数不一致",
    "NO_AUTH": "发放失败,此请求可能存在风险,已被微信拦截",
    "FREQ_LIMIT": "超过频率限制,请稍后再试", "PROCESSING": "请求已受理,请稍后使用原单号查询发放结果",
    "NOT_FOUND": "指定单号数据不存在", "SEND_FAILED": "该红包已经发放失败", "OPENID_ERROR": "openid和appid不匹配",
}


def sign(fields: Mapping[str, str], api_key: str, sign_type: str = "MD5") -> str:
    """WeChat Pay's v2 sign, written independently of wechatpy so that the fake checks the wire."""
    plain = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] != "")
    plain += f"&key={api_key}"
    if sign_type == "HMAC-SHA256":
        return hmac.new(api_key.encode(), plain.encode(), hashlib.sha256).hexdigest().upper()
    return hashlib.md5(plain.encode()).hexdigest().upper()  # noqa: S324 - WeChat Pay v2's MD5 sign


def _xml(fields: Mapping[str, Any]) -> bytes:
    parts = "".join(f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
                    for k, v in fields.items() if v is not None)
    return f"<xml>{parts}</xml>".encode()


@dataclass
class Packet:
    bill_no: str
    mch_id: str
    appid: str
    openid: str
    amount_fen: int
    wishing: str
    act_name: str
    remark: str
    send_listid: str
    sent_at: float
    status: str = "SENT"  # SENT → RECEIVED (or REFUND after 24 h unclaimed)


class FakeWeChatPay:
    """``merchants`` maps mch_ids to their API keys; ``apps`` are the appids bound to them (any, when None);
    ``balance_fen`` the merchant's balance (unlimited when None); ``now`` the server's clock."""

    def __init__(self, merchants: Mapping[str, str], *, apps: Iterable[str] | None = None,
                 balance_fen: int | None = None, now: Callable[[], float] = time.time, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.merchants = dict(merchants)
        self.apps = set(apps) if apps is not None else None
        self.balance_fen = balance_fen
        self.now = now
        self.lock = threading.Lock()
        self.packets: dict[tuple[str, str], Packet] = {}  # (mch_id, bill_no) -> the packet paid
        self.paid: list[Packet] = []  # every packet paid, once each
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, fields) of every request
        self.answers: list[tuple[str, str]] = []  # (path, err_code or SUCCESS) of every answer
        self._scripted: list[tuple[str, bool]] = []  # (err_code, pay first)
        self._drops: list[bool] = []
        self._holds: list[threading.Event] = []
        self._listids = itertools.count(1_000_041_701_202_611_300_000_000_001)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = fake.handle(self.path.split("?")[0], body)
                if answer is None:  # a lost answer: the connection closes with nothing said
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return

        self.host = host
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                        name=f"FakeWeChatPay:{self.port}")
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests tell it --------------------------------------------------------------------------

    def fail_next(self, *err_codes: str, paid: bool = False) -> None:
        """Answer the next sends with these err_codes, in order; ``paid``: pay each first (SYSTEMERROR
        after the money moved)."""
        with self.lock:
            self._scripted.extend((code, paid) for code in err_codes)

    def drop_next(self, times: int = 1, *, paid: bool = True) -> None:
        """The next sends close the connection without an answer, having paid (or not)."""
        with self.lock:
            self._drops.extend([paid] * times)

    def hold_next(self) -> threading.Event:
        """The next send that pays waits, after paying, until the returned event is set (or 30 s) before it
        answers: time to kill the caller while its packet is paid and its answer not yet back."""
        event = threading.Event()
        with self.lock:
            self._holds.append(event)
        return event

    def receive(self, bill_no: str, mch_id: str | None = None) -> None:
        """The person opened the packet (gethbinfo says RECEIVED)."""
        with self.lock:
            for (mch, bill), packet in self.packets.items():
                if bill == bill_no and mch_id in (None, mch):
                    packet.status = "RECEIVED"

    # --- the API ---------------------------------------------------------------------------------------

    def handle(self, path: str, body: bytes) -> bytes | None:
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return _xml({"return_code": "FAIL", "return_msg": "XML格式错误"})
        fields = {child.tag: (child.text or "") for child in root}
        with self.lock:
            paid_before = len(self.paid)
            answer = self._handle(path, fields)
            hold = self._holds.pop(0) if self._holds and len(self.paid) > paid_before else None
        if hold is not None:
            hold.wait(30)
        return answer

    def _handle(self, path: str, fields: dict[str, str]) -> bytes | None:
        self.requests.append((path, fields))
        api_key = self.merchants.get(fields.get("mch_id", ""))
        if api_key is None:
            return self._answer(path, fields, "NO_AUTH", None)
        if fields.get("sign") != sign(fields, api_key, fields.get("sign_type") or "MD5"):
            self.answers.append((path, "RETURN_FAIL"))
            return _xml({"return_code": "FAIL", "return_msg": "签名错误"})
        if path.endswith("/mmpaymkttransfers/sendredpack"):
            return self._send(path, fields, api_key)
        if path.endswith("/mmpaymkttransfers/gethbinfo"):
            return self._query(path, fields, api_key)
        self.answers.append((path, "RETURN_FAIL"))
        return _xml({"return_code": "FAIL", "return_msg": "not found"})

    def _answer(self, path: str, fields: Mapping[str, str], err_code: str | None, api_key: str | None,
                **more: Any) -> bytes:
        self.answers.append((path, err_code or "SUCCESS"))
        answer: dict[str, Any] = {"return_code": "SUCCESS", "return_msg": ERRORS.get(err_code or "", "发放成功")}
        answer["result_code"] = "FAIL" if err_code else "SUCCESS"
        answer["err_code"] = err_code or "SUCCESS"
        answer["err_code_des"] = ERRORS.get(err_code or "", "发放成功")
        answer.update({"mch_billno": fields.get("mch_billno"), "mch_id": fields.get("mch_id"), **more})
        if api_key:
            answer["nonce_str"] = secrets.token_hex(16)
            answer["sign"] = sign({k: str(v) for k, v in answer.items() if v is not None}, api_key)
        return _xml(answer)

    def _send(self, path: str, fields: dict[str, str], api_key: str) -> bytes | None:
        mch_id, appid, bill_no = fields["mch_id"], fields.get("wxappid", ""), fields.get("mch_billno", "")
        if any(not fields.get(k) for k in REQUIRED) or not BILL_NO.fullmatch(bill_no) \
                or not fields["total_amount"].isdigit() or fields["total_num"] != "1":
            return self._answer(path, fields, "PARAM_ERROR", api_key)
        if self.apps is not None and appid not in self.apps:
            return self._answer(path, fields, "ILLEGAL_APPID", api_key)
        amount, openid = int(fields["total_amount"]), fields["re_openid"]
        earlier = self.packets.get((mch_id, bill_no))
        if earlier is not None:  # re-entrant on the bill number
            if earlier.openid != openid or earlier.amount_fen != amount:
                return self._answer(path, fields, "FATAL_ERROR", api_key)
            return self._paid(path, fields, api_key, earlier)
        if self._drops:
            if self._drops.pop(0):
                self._pay(fields)
            return None
        if self._scripted:
            code, pay_first = self._scripted.pop(0)
            if pay_first:
                self._pay(fields)
            return self._answer(path, fields, code, api_key)
        scene = fields.get("scene_id")
        if not (1 if scene else 100) <= amount <= (499_900 if scene else 20_000):
            return self._answer(path, fields, "MONEY_LIMIT", api_key)
        today = [p for p in self.paid if p.openid == openid and self._day(p.sent_at) == self._day(self.now())]
        if len(today) >= 10:
            return self._answer(path, fields, "SENDNUM_LIMIT", api_key)
        if sum(p.amount_fen for p in today) + amount > 100_000:
            return self._answer(path, fields, "RCVDAMOUNT_LIMIT", api_key)
        if self.balance_fen is not None and amount > self.balance_fen:
            return self._answer(path, fields, "NOTENOUGH", api_key)
        return self._paid(path, fields, api_key, self._pay(fields))

    def _paid(self, path: str, fields: Mapping[str, str], api_key: str, packet: Packet) -> bytes:
        return self._answer(path, fields, None, api_key, wxappid=packet.appid, re_openid=packet.openid,
                            total_amount=packet.amount_fen, send_listid=packet.send_listid)

    def _pay(self, fields: Mapping[str, str]) -> Packet:
        packet = Packet(bill_no=fields["mch_billno"], mch_id=fields["mch_id"], appid=fields["wxappid"],
                        openid=fields["re_openid"], amount_fen=int(fields["total_amount"]),
                        wishing=fields["wishing"], act_name=fields["act_name"], remark=fields["remark"],
                        send_listid=str(next(self._listids)), sent_at=self.now())
        if self.balance_fen is not None:
            self.balance_fen -= packet.amount_fen
        self.packets[(packet.mch_id, packet.bill_no)] = packet
        self.paid.append(packet)
        return packet

    def _query(self, path: str, fields: dict[str, str], api_key: str) -> bytes:
        if fields.get("bill_type") != "MCHT" or not fields.get("mch_billno"):
            return self._answer(path, fields, "PARAM_ERROR", api_key)
        packet = self.packets.get((fields["mch_id"], fields["mch_billno"]))
        if packet is None:
            return self._answer(path, fields, "NOT_FOUND", api_key)
        sent = datetime.fromtimestamp(packet.sent_at, UTC).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        return self._answer(path, fields, None, api_key, detail_id=packet.send_listid, status=packet.status,
                            send_type="API", hb_type="NORMAL", total_num=1, total_amount=packet.amount_fen,
                            send_time=sent, wishing=packet.wishing, act_name=packet.act_name,
                            remark=packet.remark, openid=packet.openid)

    @staticmethod
    def _day(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).astimezone(BEIJING).date().isoformat()
