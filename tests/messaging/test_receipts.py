"""What comes back after a send, on both databases: SMTP answers, WeChat's template-message results
and Aliyun's SMS status reports become events on the person and the message's state; repeated
callbacks change nothing; bad callbacks are refused with stable codes, never a 500."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from siyu import clock
from siyu.channels.fakes import FakeAliyunSms, FakeWeChat
from siyu.db.engine import write
from siyu.messaging import delivery
from siyu.messaging.models import Status
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.conftest import free_port
from tests.messaging.test_delivery import NOON, person, queue
from tests.web.test_pages import signed_in  # noqa: F401 - fixture

WECHAT_TOKEN = "wx-callback-token"
REPORT_TOKEN = "sms-report-7f3a"
KEY_ID, KEY_SECRET = "LTAI5tE2eTest", "aliyun-secret"
SMS = {"sign_name": "完美日记", "template_code": "SMS_465", "params": {"order": "2451"}}
TEMPLATE = {"template_id": "T1", "url": "https://brand.cn/o/2451", "data": {"thing2": {"value": "已发货"}}}


def settings(runtime: Runtime, workspace_id: int, **channels: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {
            "channels": channels, "messaging": {"quiet_start": None, "cooldown_minutes": 0}})


def events(client: Any, workspace: Any, profile: int, *names: str) -> list[dict[str, Any]]:
    found = client.get(f"/api/profiles/{profile}/events", headers=workspace.bearer()).json()["items"]
    return [e for e in reversed(found) if e["name"] in names]


def message(client: Any, workspace: Any, message_id: int) -> dict[str, Any]:
    return client.get(f"/api/messages/{message_id}", headers=workspace.bearer()).json()


def deliver(runtime: Runtime, workspace: Any) -> delivery.DeliveryReport:
    return delivery.deliver_due(runtime.engine, workspace_id=workspace.id)


# --- SMTP ------------------------------------------------------------------------------------------

@dataclass
class PickySmtp:
    """A real SMTP server that answers some recipients with a chosen reply."""

    replies: dict[str, str] = field(default_factory=dict)  # address -> "550 5.1.1 …" at RCPT
    accepted: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: Any) -> str:
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's API
        self.accepted.extend(envelope.rcpt_tos)
        return "250 OK queued as 7E1A"


@pytest.fixture
def picky() -> Iterator[tuple[PickySmtp, int]]:
    handler = PickySmtp()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_smtp_answers_become_sent_and_failed_events_with_the_smtp_code(
        runtime: Runtime, client: Any, workspace: Any, picky: tuple[PickySmtp, int]) -> None:
    handler, port = picky
    settings(runtime, workspace.id, email={"host": "127.0.0.1", "port": port, "sender": "hi@brand.cn"})
    clock.freeze(NOON)
    handler.replies = {"gone@example.cn": "550 5.1.1 <gone@example.cn>: Recipient address rejected: User unknown",
                       "full@example.cn": "452 4.2.2 Mailbox full"}
    lina = person(client, workspace, "u-lina", "lina@example.cn")
    gone = person(client, workspace, "u-gone", "gone@example.cn")
    full = person(client, workspace, "u-full", "full@example.cn")
    ok, refused, later = (queue(client, workspace, p).json()["id"] for p in (lina, gone, full))
    report = deliver(runtime, workspace)
    assert (report.sent, report.failed, report.retried) == (1, 1, 1)
    assert handler.accepted == ["lina@example.cn"]
    failed = message(client, workspace, refused)
    assert (failed["status"], failed["reason"]) == ("failed", "email.recipient_refused")
    assert failed["detail"] == "550 5.1.1 <gone@example.cn>: Recipient address rejected: User unknown"
    [event] = events(client, workspace, gone, "Message Failed")
    assert event["properties"] == {"message_id": refused, "channel": "email", "source": "api",
                                   "reason": "email.recipient_refused", "detail": failed["detail"]}
    [sent] = events(client, workspace, lina, "Message Sent")
    assert sent["properties"]["message_id"] == ok and sent["timestamp"].startswith("2026-11-11T04:00:00")
    held = message(client, workspace, later)  # 4xx: retried, not failed, no event yet
    assert (held["status"], held["reason"], held["detail"]) == ("queued", "email.temporary", "452 4.2.2 Mailbox full")
    assert events(client, workspace, full, "Message Failed", "Message Sent") == []


# --- WeChat template messages ---------------------------------------------------------------------

@pytest.fixture
def wechat() -> Iterator[tuple[FakeWeChat, str]]:
    appid = f"wx{secrets.token_hex(8)}"
    with FakeWeChat({appid: "app-secret"}) as fake:
        yield fake, appid


def signed(token: str = WECHAT_TOKEN, at: int | None = None, nonce: str = "138049") -> dict[str, str]:
    timestamp = str(int(clock.now().timestamp()) if at is None else at)
    signature = hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def finished(openid: str, msgid: str, status: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{int(clock.now().timestamp())}</CreateTime><MsgType><![CDATA[event]]>"
            f"</MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{msgid}</MsgID>"
            f"<Status><![CDATA[{status}]]></Status></xml>")


def push(client: Any, workspace_id: int, body: str | bytes, **query: str) -> Any:
    return client.post(f"/callbacks/wechat/{workspace_id}", params=query or signed(), content=body,
                       headers={"Content-Type": "text/xml"})


def test_template_results_mark_messages_delivered_or_failed_once(
        runtime: Runtime, client: Any, workspace: Any, other_workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    settings(runtime, workspace.id, wechat={"appid": appid, "secret": "app-secret", "base_url": fake.url,
                                            "token": WECHAT_TOKEN})
    clock.freeze(clock.now())
    people = {}
    for openid in ("oHappy", "oBlocked"):
        people[openid] = person(client, workspace, f"u-{openid}", f"{openid}@x.cn")
        client.post("/v1/identify", auth=(workspace.write_key, ""), json={
            "userId": f"u-{openid}", "context": {"externalIds": [{"type": f"wechat_openid:{appid}", "id": openid}]}})
    ids = {openid: client.post("/api/messages", headers=workspace.bearer(), json={
        "profile_id": profile, "channel": "wechat_template", "purpose": "transactional", "content": TEMPLATE,
    }).json()["id"] for openid, profile in people.items()}
    assert deliver(runtime, workspace).sent == 2
    msgids = {r.openid: str(r.msgid) for r in fake.received}
    # another workspace's callback, even with the same token, never reaches this workspace's messages
    settings(runtime, other_workspace.id, wechat={"appid": appid, "secret": "s", "token": WECHAT_TOKEN})
    assert push(client, other_workspace.id, finished("oHappy", msgids["oHappy"], "failed:user block")).text == \
        "success"
    assert message(client, workspace, ids["oHappy"])["status"] == "sent"

    for _ in range(3):  # WeChat retries a callback it thinks was lost: one receipt
        answer = push(client, workspace.id, finished("oHappy", msgids["oHappy"], "success"))
        assert (answer.status_code, answer.text) == (200, "success")
    assert push(client, workspace.id, finished("oBlocked", msgids["oBlocked"], "failed:user block")).text == \
        "success"
    happy, blocked = message(client, workspace, ids["oHappy"]), message(client, workspace, ids["oBlocked"])
    assert happy["status"] == "sent" and happy["delivered_at"] is not None
    assert (blocked["status"], blocked["reason"], blocked["detail"], blocked["delivered_at"]) == (
        "failed", "wechat.user_block", "Status failed:user block", None)
    [delivered] = events(client, workspace, people["oHappy"], "Message Delivered")
    assert delivered["properties"] == {"message_id": ids["oHappy"], "channel": "wechat_template", "source": "api",
                                       "provider_status": "success"}
    [refused] = events(client, workspace, people["oBlocked"], "Message Failed")
    assert refused["properties"]["reason"] == "wechat.user_block"
    # a later "success" for the failed one, or a receipt naming another openid, changes nothing
    push(client, workspace.id, finished("oBlocked", msgids["oBlocked"], "success"))
    push(client, workspace.id, finished("oSomeoneElse", msgids["oHappy"], "failed: system failed"))
    assert message(client, workspace, ids["oBlocked"])["status"] == "failed"
    assert message(client, workspace, ids["oHappy"])["status"] == "sent"


def test_the_wechat_callback_refuses_what_wechat_did_not_sign(runtime: Runtime, client: Any, workspace: Any,
                                                              other_workspace: Any) -> None:
    settings(runtime, workspace.id, wechat={"appid": "wx1", "secret": "s", "token": WECHAT_TOKEN})
    clock.freeze(NOON)
    body = finished("oX", "200163836", "success")
    check = client.get(f"/callbacks/wechat/{workspace.id}", params={**signed(), "echostr": "5837421"})
    assert (check.status_code, check.text) == (200, "5837421")
    cases: list[tuple[Any, int, str]] = [
        (push(client, workspace.id, body, **signed(token="guess")), 403, "receipts.bad_signature"),
        (push(client, workspace.id, body, **signed(at=int(NOON.timestamp()) - 301)), 403, "receipts.bad_signature"),
        (push(client, workspace.id, body, **{**signed(), "timestamp": "soon"}), 403, "receipts.bad_signature"),
        (push(client, other_workspace.id, body), 404, "receipts.not_configured"),  # no token there
        (push(client, 2**31 - 1, body), 404, "receipts.not_configured"),
        (push(client, workspace.id, "<xml><Encrypt><![CDATA[MOEJkz1V]]></Encrypt></xml>"), 400, "receipts.encrypted"),
        (push(client, workspace.id, "not xml"), 400, "receipts.invalid"),
        (push(client, workspace.id, "<other/>"), 400, "receipts.invalid"),
        (push(client, workspace.id, finished("oX", "abc", "success")), 400, "receipts.invalid"),
        (push(client, workspace.id, b"<xml>" + b"x" * 70_000 + b"</xml>"), 413, "receipts.too_large"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    xxe = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           "<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>1</MsgID>"
           "<Status>&xxe;</Status></xml>")
    laughs = ('<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Status>&c;</Status></xml>')
    for hostile in (xxe, laughs):
        refused = push(client, workspace.id, hostile)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "receipts.invalid")
    other_event = ("<xml><ToUserName>gh_1</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime>"
                   "<MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert push(client, workspace.id, other_event).text == "success"  # left for the full callback


# --- Aliyun SMS status reports --------------------------------------------------------------------

@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms({KEY_ID: KEY_SECRET}) as fake:
        yield fake


def test_sms_reports_pushed_by_aliyun_mark_messages_and_repeat_pushes_change_nothing(
        runtime: Runtime, client: Any, workspace: Any, aliyun: FakeAliyunSms, live_server: str) -> None:
    settings(runtime, workspace.id, sms={"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET,
                                         "endpoint": aliyun.url, "report_token": REPORT_TOKEN})
    aliyun.report_url = f"{live_server}/callbacks/sms/aliyun/{workspace.id}/{REPORT_TOKEN}"
    clock.freeze(NOON)
    lina = person(client, workspace, "u-lina", "lina@x.cn")
    wei = person(client, workspace, "u-wei", "wei@x.cn")
    for user, phone in (("u-lina", "+8613912345678"), ("u-wei", "+8613812345679")):
        client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": user, "traits": {"phone": phone}})
    sent = {p: client.post("/api/messages", headers=workspace.bearer(), json={
        "profile_id": p, "channel": "sms", "purpose": "transactional", "content": SMS}).json()["id"]
        for p in (lina, wei)}
    assert deliver(runtime, workspace).sent == 2
    by_phone = {r.phone_numbers: r.biz_id for r in aliyun.received}
    aliyun.report(by_phone["13912345678"])
    aliyun.report(by_phone["13812345679"], success=False, err_code="MOBILE_NOT_ON_SERVICE", err_msg="停机")
    assert aliyun.push_reports() == (200, {"code": 0, "msg": "接收成功"})
    assert aliyun.pending_reports == []
    delivered, undelivered = message(client, workspace, sent[lina]), message(client, workspace, sent[wei])
    assert delivered["status"] == "sent" and delivered["delivered_at"].startswith("2026-11-11T04:00:00")
    assert (undelivered["status"], undelivered["reason"], undelivered["detail"]) == (
        "failed", "sms.undelivered", "MOBILE_NOT_ON_SERVICE: 停机")
    [event] = events(client, workspace, lina, "Message Delivered")
    assert event["properties"]["provider_id"] == by_phone["13912345678"]
    assert event["properties"]["provider_status"] == "DELIVERED"
    # Aliyun pushes again when it thinks a push failed: the same reports change nothing
    aliyun.report(by_phone["13912345678"])
    aliyun.report(by_phone["13812345679"], success=False, err_code="MOBILE_NOT_ON_SERVICE", err_msg="停机")
    assert aliyun.push_reports()[0] == 200
    assert len(events(client, workspace, lina, "Message Delivered")) == 1
    assert len(events(client, workspace, wei, "Message Failed")) == 1


def test_a_report_confirms_an_sms_that_got_no_answer_by_its_out_id(
        runtime: Runtime, client: Any, workspace: Any, aliyun: FakeAliyunSms, live_server: str) -> None:
    settings(runtime, workspace.id, sms={"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET,
                                         "endpoint": aliyun.url, "report_token": REPORT_TOKEN})
    aliyun.report_url = f"{live_server}/callbacks/sms/aliyun/{workspace.id}/{REPORT_TOKEN}"
    profile = person(client, workspace, "u-lost", "lost@x.cn")
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "u-lost",
                                                                     "traits": {"phone": "+8613912345678"}})
    queued = client.post("/api/messages", headers=workspace.bearer(), json={
        "profile_id": profile, "channel": "sms", "purpose": "transactional", "content": SMS}).json()["id"]
    assert deliver(runtime, workspace).sent == 1
    with write(runtime.engine) as conn:  # as if the answer had been lost: no BizId, uncertain
        from siyu.messaging import store

        store.update_message(conn, store.get(conn, workspace.id, queued), clock.now(), status=Status.UNCERTAIN,
                             provider_id=None)
    aliyun.report()
    assert aliyun.push_reports()[0] == 200
    confirmed = message(client, workspace, queued)
    assert confirmed["status"] == "sent" and confirmed["delivered_at"] is not None


def test_sms_report_pushes_with_a_wrong_token_or_body_are_refused(
        runtime: Runtime, client: Any, workspace: Any, other_workspace: Any) -> None:
    settings(runtime, workspace.id, sms={"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET,
                                         "report_token": REPORT_TOKEN})
    url = f"/callbacks/sms/aliyun/{workspace.id}/{REPORT_TOKEN}"
    report = [{"phone_number": "13912345678", "success": True, "biz_id": "1^0", "out_id": f"{other_workspace.id}:1"}]
    cases: list[tuple[str, Any, int, str]] = [
        (f"/callbacks/sms/aliyun/{workspace.id}/guess", report, 404, "receipts.not_configured"),
        (f"/callbacks/sms/aliyun/{other_workspace.id}/{REPORT_TOKEN}", report, 404, "receipts.not_configured"),
        (url, {"biz_id": "1^0"}, 400, "receipts.invalid"),
        (url, [{"biz_id": "1^0", "success": "yes"}], 400, "receipts.invalid"),
        (url, "[", 400, "receipts.invalid"),
    ]
    for path, body, status, code in cases:
        raw = body.encode() if isinstance(body, str) else None
        response = client.post(path, content=raw) if raw is not None else client.post(path, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (path, body)
    # an unknown BizId, or another workspace's out_id, is acknowledged (so Aliyun stops) and ignored
    assert client.post(url, json=report).json() == {"code": 0, "msg": "接收成功"}


# --- unsubscribes ---------------------------------------------------------------------------------

def test_an_unsubscribe_is_an_event_once(runtime: Runtime, client: Any, workspace: Any) -> None:
    from siyu.messaging.unsubscribe import token_for

    profile = person(client, workspace, "u-out", "out@x.cn")
    path = f"/u/{token_for(runtime.session_secret(), workspace.id, profile, 'email')}"
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # the mail client's one-click POST, then the button
    [event] = events(client, workspace, profile, "Unsubscribed")
    assert event["properties"] == {"channel": "email", "purpose": "marketing", "source": "unsubscribe_link"}
    clock.advance(timedelta(seconds=1))
    client.put(f"/api/profiles/{profile}/consent", headers=workspace.bearer(),
               json={"channel": "email", "purpose": "marketing", "status": "granted"})
    client.post(path)  # opted in again, then out again: a second unsubscribe
    assert len(events(client, workspace, profile, "Unsubscribed")) == 2


# --- the console ----------------------------------------------------------------------------------

def test_the_profile_pages_message_log_shows_receipts(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    import re

    from siyu.messaging import outbox, receipt_store
    from siyu.messaging.models import Channel, Purpose

    profile_id = int(re.search(r'href="/profiles/(\d+)"', signed_in.get("/profiles", params={"q": "李娜"}).text)
                     .group(1))
    with write(runtime.engine) as conn:
        queued, _ = outbox.queue(conn, workspace.id, profile_id=profile_id, channel=Channel.EMAIL,
                                 purpose=Purpose.TRANSACTIONAL, content={"subject": "已发货", "text": "t"},
                                 now=clock.now())
        for field_name in ("delivered_at", "opened_at"):
            receipt_store.mark_receipt(conn, workspace.id, queued.id, field_name, clock.now())
    table = signed_in.get(f"/profiles/{profile_id}").text.split('id="messages"', 1)[1].split("</table>", 1)[0]
    assert "已送达" in table and "已打开" in table and "已点击" not in table
    english = signed_in.get(f"/profiles/{profile_id}", headers={"Accept-Language": "en"}).text
    assert "Receipts" in english and "Delivered" in english.split('id="messages"', 1)[1].split("</table>", 1)[0]
