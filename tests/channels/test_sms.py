"""SMS through Aliyun: the V3 signature against Aliyun's published example, phone formats, what each
answer means, and the client against the fake endpoint that checks signatures like Aliyun."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from siyu.channels.base import ChannelError, Delivery
from siyu.channels.fakes import FakeAliyunSms
from siyu.channels.sms import (
    EMPTY_BODY_SHA256,
    AliyunSms,
    Sms,
    SmsChannel,
    acs3_signature,
    aliyun_error,
    aliyun_phone_number,
    canonical_request,
    payload_problem,
    percent_encode,
    signed_headers,
    sms_channel,
)

KEY_ID, SECRET = "LTAI5tTestKeyId", "test-secret-不要外传"


def test_the_signature_matches_aliyuns_published_v3_example() -> None:
    # help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature, "签名示例":
    # RunInstances on ECS with these fixed values gives this canonical-request hash and signature.
    headers = {"host": "ecs.cn-shanghai.aliyuncs.com", "x-acs-action": "RunInstances",
               "x-acs-content-sha256": EMPTY_BODY_SHA256, "x-acs-date": "2023-10-26T10:22:32Z",
               "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d", "x-acs-version": "2014-05-26"}
    params = {"RegionId": "cn-shanghai", "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"}
    canonical, signed = canonical_request("POST", "/", params, headers, EMPTY_BODY_SHA256)
    assert hashlib.sha256(canonical.encode()).hexdigest() == \
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    assert signed == "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
    assert acs3_signature("YourAccessKeySecret", canonical) == \
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    built = signed_headers(access_key_id="YourAccessKeyId", access_key_secret="YourAccessKeySecret", method="POST",
                           host="ecs.cn-shanghai.aliyuncs.com", action="RunInstances", version="2014-05-26",
                           params=params, date="2023-10-26T10:22:32Z", nonce="3156853299f313e23d1673dc12e1703d")
    assert built["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")


@pytest.mark.parametrize(("raw", "encoded"), [
    ("AZaz09-_.~", "AZaz09-_.~"), ("a b", "a%20b"), ("a*b", "a%2Ab"), ("a+b/c=d&e:f", "a%2Bb%2Fc%3Dd%26e%3Af"),
    ("完美日记", "%E5%AE%8C%E7%BE%8E%E6%97%A5%E8%AE%B0"), ('{"code":"1234"}', "%7B%22code%22%3A%221234%22%7D"),
])
def test_percent_encoding_is_rfc_3986(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


@pytest.mark.parametrize(("e164", "aliyun"), [
    ("+8613912345678", "13912345678"),  # mainland mobile: the 11 digits
    ("+8619912345678", "19912345678"),
    ("+85261234567", "85261234567"),  # Hong Kong: 国际区号+号码, no "+"
    ("+85362123456", "85362123456"),  # Macau (853, not 86 + 3…)
    ("+886912345678", "886912345678"),  # Taiwan
    ("+14155550123", "14155550123"),
    ("+447700900123", "447700900123"),
])
def test_phone_numbers_go_out_in_aliyuns_format(e164: str, aliyun: str) -> None:
    assert aliyun_phone_number(e164) == aliyun


@pytest.mark.parametrize("bad", ["13912345678", "+86 139 1234 5678", "+862161234567", "+86139123456", "", "+0123456",
                                 "tel:+8613912345678"])
def test_numbers_aliyun_cannot_take_fail_before_any_request(bad: str) -> None:
    with pytest.raises(ChannelError) as caught:
        aliyun_phone_number(bad)
    assert (caught.value.code, caught.value.retryable) == ("sms.invalid_number", False)


@pytest.mark.parametrize(("status", "code", "reason", "retryable"), [
    (200, "isv.BUSINESS_LIMIT_CONTROL", "sms.rate_limited", True),
    (400, "Throttling.User", "sms.rate_limited", True),
    (200, "isp.SYSTEM_ERROR", "sms.unavailable", True),
    (503, "ServiceUnavailable", "sms.unavailable", True),
    (502, "", "sms.unavailable", True),
    (200, "isv.MOBILE_NUMBER_ILLEGAL", "sms.invalid_number", False),
    (200, "isv.TEMPLATE_MISSING_PARAMETERS", "sms.rejected", False),
    (200, "isv.SMS_SIGNATURE_ILLEGAL", "sms.rejected", False),
    (200, "isv.SMS_TEMPLATE_ILLEGAL", "sms.rejected", False),
    (200, "isv.AMOUNT_NOT_ENOUGH", "sms.rejected", False),
    (400, "SignatureDoesNotMatch", "sms.credentials", False),
    (404, "InvalidAccessKeyId.NotFound", "sms.credentials", False),
    (200, "isp.RAM_PERMISSION_DENY", "sms.credentials", False),
])
def test_each_answer_maps_to_retry_or_a_permanent_failure_keeping_the_raw_code(status: int, code: str, reason: str,
                                                                               retryable: bool) -> None:
    error = aliyun_error(status, code, "说明")
    assert (error.code, error.retryable) == (reason, retryable)
    assert error.detail.startswith(code or f"HTTP {status}")


def problem_field(payload: object) -> str:
    problem = payload_problem(payload)
    assert problem is not None
    return problem[0]


def test_the_payload_check_names_the_field() -> None:
    assert payload_problem({"sign_name": "完美日记", "template_code": "SMS_1", "params": {"name": "林"}}) is None
    assert payload_problem({"sign_name": "完美日记", "template_code": "SMS_1"}) is None
    assert problem_field({"template_code": "SMS_1"}) == "sign_name"
    assert problem_field({"sign_name": "完美日记", "template_code": " "}) == "template_code"
    assert problem_field({"sign_name": "s", "template_code": "t", "params": {"n": 1}}) == "params"
    assert problem_field(["x"]) == "content"


def test_settings_choose_the_provider() -> None:
    channel = sms_channel({"access_key_id": "id", "access_key_secret": "s"})
    assert isinstance(channel.provider, AliyunSms) and channel.provider.endpoint == "https://dysmsapi.aliyuncs.com"
    assert channel.idempotent is False
    with pytest.raises(ValueError, match="unknown SMS provider 'tencent'; available: aliyun"):
        sms_channel({"provider": "tencent"})
    with pytest.raises(KeyError):
        sms_channel({"provider": "aliyun", "access_key_id": "id"})


# --- against the fake endpoint ------------------------------------------------------------------

@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms({KEY_ID: SECRET}, signs={"完美日记"}, templates={"SMS_465": ["name", "order"]}) as fake:
        yield fake


def sms(**overrides: object) -> Sms:
    values: dict = {"phone": "+8613912345678", "sign_name": "完美日记", "template_code": "SMS_465",
                    "params": {"name": "林娜", "order": "A 1/2"}, "out_id": "7:42"}
    return Sms(**{**values, **overrides})


def test_a_signed_send_is_accepted_and_recorded_with_its_out_id(aliyun: FakeAliyunSms) -> None:
    provider = AliyunSms(KEY_ID, SECRET, endpoint=aliyun.url)
    biz_id = provider.send(sms())
    [received] = aliyun.received
    assert biz_id == received.biz_id
    assert (received.phone_numbers, received.sign_name, received.template_code, received.out_id) == \
        ("13912345678", "完美日记", "SMS_465", "7:42")
    assert received.params == {"name": "林娜", "order": "A 1/2"}


def test_a_wrong_secret_is_refused_as_aliyun_does_and_never_retried(aliyun: FakeAliyunSms) -> None:
    with pytest.raises(ChannelError) as caught:
        AliyunSms(KEY_ID, "wrong", endpoint=aliyun.url).send(sms())
    assert (caught.value.code, caught.value.retryable) == ("sms.credentials", False)
    assert caught.value.detail.startswith("SignatureDoesNotMatch")
    with pytest.raises(ChannelError) as unknown:
        AliyunSms("LTAIunknown", SECRET, endpoint=aliyun.url).send(sms())
    assert unknown.value.detail.startswith("InvalidAccessKeyId.NotFound")
    assert aliyun.received == []


def test_a_stale_date_is_refused(aliyun: FakeAliyunSms) -> None:
    old = AliyunSms(KEY_ID, SECRET, endpoint=aliyun.url, now=lambda: datetime.now(UTC) - timedelta(minutes=20))
    with pytest.raises(ChannelError) as caught:
        old.send(sms())
    assert caught.value.detail.startswith("InvalidTimeStamp.Expired")


def test_the_fake_checks_numbers_signatures_and_template_variables(aliyun: FakeAliyunSms) -> None:
    provider = AliyunSms(KEY_ID, SECRET, endpoint=aliyun.url)
    cases = [(sms(sign_name="别家"), "isv.SMS_SIGNATURE_ILLEGAL"),
             (sms(template_code="SMS_0"), "isv.SMS_TEMPLATE_ILLEGAL"),
             (sms(params={"name": "林娜"}), "isv.TEMPLATE_MISSING_PARAMETERS")]
    for message, code in cases:
        with pytest.raises(ChannelError) as caught:
            provider.send(message)
        assert (caught.value.code, caught.value.detail.split(":")[0]) == ("sms.rejected", code)
    aliyun.fail_number("13912345678", "isv.MOBILE_NUMBER_ILLEGAL")
    with pytest.raises(ChannelError) as bad_number:
        provider.send(sms())
    assert bad_number.value.code == "sms.invalid_number"


def test_scripted_failures_come_back_in_order(aliyun: FakeAliyunSms) -> None:
    provider = AliyunSms(KEY_ID, SECRET, endpoint=aliyun.url)
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable")
    answers: list[object] = []
    for _ in range(3):
        try:
            answers.append(provider.send(sms()))
        except ChannelError as error:
            answers.append((error.code, error.retryable))
    assert answers[:2] == [("sms.rate_limited", True), ("sms.unavailable", True)]
    assert answers[2] == aliyun.received[0].biz_id
    assert aliyun.refused == ["isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable"]


def test_no_answer_is_uncertain_and_no_server_is_retryable() -> None:
    import socket

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        provider = AliyunSms(KEY_ID, SECRET, endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        with pytest.raises(ChannelError) as caught:
            provider.send(sms())
    assert (caught.value.code, caught.value.retryable) == ("sms.uncertain", False)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ChannelError) as refused:
        AliyunSms(KEY_ID, SECRET, endpoint=f"http://127.0.0.1:{port}").send(sms())
    assert (refused.value.code, refused.value.retryable) == ("sms.unreachable", True)


def test_the_channel_sends_a_delivery_with_its_key_as_out_id(aliyun: FakeAliyunSms) -> None:
    channel = SmsChannel(AliyunSms(KEY_ID, SECRET, endpoint=aliyun.url))
    delivery = Delivery(key="3:99", workspace_id=3, profile_id=5, recipient="+85261234567", purpose="transactional",
                        payload={"sign_name": "完美日记", "template_code": "SMS_465",
                                 "params": {"name": "Lina", "order": "A2"}})
    assert channel.send(delivery) == aliyun.received[0].biz_id
    assert (aliyun.received[0].phone_numbers, aliyun.received[0].out_id) == ("85261234567", "3:99")
    with pytest.raises(ChannelError) as caught:
        channel.send(Delivery(**{**delivery.__dict__, "payload": {"template_code": "SMS_465"}}))
    assert caught.value.code == "sms.bad_payload"


# --- status reports (SmsReport, HTTP batch push) -------------------------------------------------

class ReportSink:
    """A receiving address that answers with ``answers`` in turn (then Aliyun's expected 200)."""

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from tests.conftest import free_port

        self.answers, self.pushes = list(answers), []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's API
                sink.pushes.append((self.headers["Content-Type"], self.rfile.read(int(self.headers["Content-Length"]))))
                status, body = sink.answers.pop(0) if sink.answers else (200, b'{"code": 0, "msg": "ok"}')
                self.send_response(status)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms-reports"


def test_the_fake_pushes_reports_like_aliyun_and_pushes_again_until_acknowledged(aliyun: FakeAliyunSms) -> None:
    import json

    from siyu.messaging.receipt_formats import sms_reports

    sink = ReportSink([(500, b"busy"), (200, b'{"code": "ok"}')])  # only a numeric code acknowledges
    aliyun.report_url = sink.url
    aliyun.now = lambda: datetime(2026, 11, 11, 4, 0, tzinfo=UTC).timestamp()
    provider = AliyunSms(KEY_ID, SECRET, endpoint=aliyun.url, now=lambda: datetime.fromtimestamp(aliyun.now(), UTC))
    delivered, failed = provider.send(sms()), provider.send(sms(phone="+8613812345679", out_id="7:43"))
    aliyun.report(delivered)
    aliyun.report(failed, success=False, err_code="MOBILE_NOT_ON_SERVICE", err_msg="停机")
    try:
        assert aliyun.push_reports() == (500, "busy")
        assert aliyun.push_reports() == (200, {"code": "ok"})
        assert len(aliyun.pending_reports) == 2
        assert aliyun.push_reports() == (200, {"code": 0, "msg": "ok"})
        assert aliyun.pending_reports == []
    finally:
        sink.server.shutdown()
        sink.server.server_close()
    content_type, body = sink.pushes[-1]
    assert content_type == "application/json" and len(sink.pushes) == 3
    assert json.loads(body)[0] == {"phone_number": "13912345678", "send_time": "2026-11-11 12:00:00",
                                   "report_time": "2026-11-11 12:00:00", "success": True, "err_code": "DELIVERED",
                                   "err_msg": "用户接收成功", "sms_size": "1", "biz_id": delivered, "out_id": "7:42"}
    reports = sms_reports(body)
    assert [(r.biz_id, r.out_id, r.success, r.err_code) for r in reports] == [
        (delivered, "7:42", True, "DELIVERED"), (failed, "7:43", False, "MOBILE_NOT_ON_SERVICE")]


@pytest.mark.parametrize("body", [b"", b"{}", b'[{"success": true}]', b'[{"biz_id": "1^0", "success": 1}]',
                                  b'["x"]', b"\xff\xfe"])
def test_report_pushes_aliyun_never_sends_are_refused_with_a_code(body: bytes) -> None:
    from siyu.messaging.receipt_formats import ReceiptError, sms_reports

    with pytest.raises(ReceiptError) as caught:
        sms_reports(body)
    assert (caught.value.code, caught.value.status) == ("receipts.invalid", 400)
