"""Messages through the API, the outbox and the delivery worker to a real SMTP server and a real
webhook endpoint, on both databases: policies applied and recorded, retries, dead letters, and no
second send after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import messages
from siyu.messaging import delivery
from siyu.messaging.models import Status
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.messaging.fakes import SmtpSink, WebhookSink

NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SECRET = "whsec-test"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    controller, port = sink.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    sink = WebhookSink(SECRET)
    yield sink
    sink.stop()


def configure(runtime: Runtime, workspace_id: int, smtp_port: int | None = None, hook_url: str | None = None,
              **policy: Any) -> None:
    channels: dict[str, Any] = {}
    if smtp_port:
        channels["email"] = {"host": "127.0.0.1", "port": smtp_port, "sender": "hi@brand.cn", "sender_name": "完美日记"}
    if hook_url:
        channels["webhook"] = {"url": hook_url, "secret": SECRET}
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {
            "channels": channels, "messaging": {"quiet_start": None, "cooldown_minutes": 0, **policy}})


@contextmanager
def webhook_channel(runtime: Runtime, workspace_id: int) -> Iterator[WebhookSink]:
    """A receiving webhook endpoint set as the workspace's webhook channel, without frequency caps."""
    sink = WebhookSink(SECRET)
    try:
        configure(runtime, workspace_id, hook_url=sink.url, caps=[])
        yield sink
    finally:
        sink.stop()


def person(client: Any, workspace: Any, user: str = "u1", email: str = "lina@example.cn") -> int:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""),
                       json={"userId": user, "traits": {"email": email}})
    assert sent.status_code == 200, sent.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user}, headers=workspace.bearer())
    return found.json()["id"]


def queue(client: Any, workspace: Any, person_id: int, **body: Any) -> Any:
    payload = {"profile_id": person_id, "channel": "email", "purpose": "transactional",
               "content": {"subject": "您的订单已发货", "text": "小细跟口红已发出。", "html": "<p>已发出</p>"}, **body}
    return client.post("/api/messages", json=payload, headers=workspace.bearer())


def deliver(runtime: Runtime, workspace: Any) -> delivery.DeliveryReport:
    """The worker's round, for this test's workspace only (other tests share the database)."""
    return delivery.deliver_due(runtime.engine, workspace_id=workspace.id)


def log(client: Any, workspace: Any, profile_id: int) -> list[dict[str, Any]]:
    response = client.get("/api/messages", params={"profile_id": profile_id}, headers=workspace.bearer())
    assert response.status_code == 200, response.text
    return response.json()


def test_an_email_goes_out_once_with_one_click_unsubscribe(runtime: Runtime, client: Any, workspace: Any,
                                                           smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port)
    profile = person(client, workspace)
    first = queue(client, workspace, profile, idempotency_key="order-1-shipped")
    again = queue(client, workspace, profile, idempotency_key="order-1-shipped")
    assert (first.status_code, again.status_code) == (202, 200) and first.json()["id"] == again.json()["id"]
    report = delivery.deliver_due(runtime.engine, unsubscribe_url=lambda m: f"https://brand.cn/u/{m.id}",
                                 workspace_id=workspace.id)
    assert report.sent == 1 and deliver(runtime, workspace).sent == 0
    assert len(sink.received) == 1
    mail = sink.received[0]
    assert mail["To"] == "lina@example.cn" and "您的订单已发货" in str(mail["Subject"])
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"] == f"<https://brand.cn/u/{first.json()['id']}>"
    [entry] = log(client, workspace, profile)
    assert (entry["status"], entry["recipient"], entry["attempts"]) == ("sent", "lina@example.cn", 1)
    assert entry["final"] is True


def test_policies_stop_and_defer_with_reasons_in_the_log(runtime: Runtime, client: Any, workspace: Any,
                                                         smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port, caps=[{"limit": 1, "days": 1}], quiet_start="21:00",
              quiet_end="08:00")
    clock.freeze(NOON)
    profile = person(client, workspace)
    no_consent = queue(client, workspace, profile, purpose="marketing").json()
    deliver(runtime, workspace)
    assert client.get(f"/api/messages/{no_consent['id']}", headers=workspace.bearer()).json()["reason"] == \
        "policy.no_consent"
    granted = client.put(f"/api/profiles/{profile}/consent", headers=workspace.bearer(),
                         json={"channel": "email", "purpose": "marketing", "status": "granted"})
    assert granted.status_code == 200, granted.text
    queue(client, workspace, profile, purpose="marketing")
    queue(client, workspace, profile, purpose="marketing")
    queue(client, workspace, profile, purpose="transactional")
    report = deliver(runtime, workspace)
    assert (report.sent, report.stopped) == (2, 1) and report.reasons == {"policy.frequency_cap": 1}
    clock.freeze(NOON + timedelta(days=1, hours=10, minutes=30))  # 22:30 in Shanghai the next day: a fresh cap
    late = queue(client, workspace, profile, purpose="marketing").json()
    assert deliver(runtime, workspace).reasons == {"policy.quiet_hours": 1}
    held = client.get(f"/api/messages/{late['id']}", headers=workspace.bearer()).json()
    assert (held["status"], held["reason"]) == ("queued", "policy.quiet_hours")
    assert held["due_at"].startswith("2026-11-13T00:00:00")  # 08:00 Shanghai
    clock.freeze(NOON + timedelta(days=1, hours=20, minutes=1))
    assert deliver(runtime, workspace).sent == 1
    assert [m["status"] for m in log(client, workspace, profile)] == ["sent", "sent", "stopped", "sent", "stopped"]
    assert len(sink.received) == 3


def test_an_unsubscribed_person_gets_nothing_even_transactional(runtime: Runtime, client: Any, workspace: Any,
                                                                smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port)
    profile = person(client, workspace)
    client.put(f"/api/profiles/{profile}/consent", headers=workspace.bearer(),
               json={"channel": "email", "purpose": "transactional", "status": "revoked"})
    queue(client, workspace, profile)
    assert deliver(runtime, workspace).reasons == {"policy.unsubscribed": 1}
    assert sink.received == []


def test_a_signed_webhook_is_retried_with_backoff_then_dead_lettered(runtime: Runtime, client: Any, workspace: Any,
                                                                     hook: WebhookSink) -> None:
    configure(runtime, workspace.id, hook_url=hook.url)
    clock.freeze(NOON)
    profile = person(client, workspace)
    hook.statuses = [503, 500]
    message = queue(client, workspace, profile, channel="webhook", content={"event": "shipped", "order": "A1"}).json()
    assert deliver(runtime, workspace).retried == 1
    assert deliver(runtime, workspace).retried == 0  # not due before the backoff
    clock.advance(timedelta(seconds=31))
    assert deliver(runtime, workspace).retried == 1
    clock.advance(timedelta(seconds=61))
    assert deliver(runtime, workspace).sent == 1
    [(key, body)] = hook.deliveries
    assert key == f"{workspace.id}:{message['id']}" and body["payload"] == {"event": "shipped", "order": "A1"}
    assert hook.bad_signatures == 0

    hook.statuses = [500] * delivery.MAX_ATTEMPTS
    doomed = queue(client, workspace, profile, channel="webhook", content={"n": 2}).json()
    for _ in range(delivery.MAX_ATTEMPTS):
        clock.advance(timedelta(hours=1))
        deliver(runtime, workspace)
    final = client.get(f"/api/messages/{doomed['id']}", headers=workspace.bearer()).json()
    assert (final["status"], final["reason"], final["attempts"]) == ("dead", "webhook.unavailable",
                                                                      delivery.MAX_ATTEMPTS)


def test_after_a_crash_mid_send_webhooks_go_again_and_emails_never(runtime: Runtime, client: Any, workspace: Any,
                                                                     smtp: tuple[SmtpSink, int],
                                                                     hook: WebhookSink) -> None:
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port, hook_url=hook.url)
    clock.freeze(NOON)
    profile = person(client, workspace)
    mail = queue(client, workspace, profile).json()
    web = queue(client, workspace, profile, channel="webhook", content={"n": 1}).json()
    with write(runtime.engine) as conn:  # what a worker killed after its claim leaves behind
        conn.execute(update(messages).where(messages.c.workspace_id == workspace.id).values(
            status="sending", attempts=1, sent_at=NOON, lease_until=NOON + delivery.LEASE))
    assert deliver(runtime, workspace).sent == 0  # the lease still holds
    clock.advance(delivery.LEASE + timedelta(seconds=1))
    report = deliver(runtime, workspace)
    assert (report.sent, report.uncertain) == (1, 1)
    statuses = {m["id"]: (m["status"], m["reason"]) for m in log(client, workspace, profile)}
    assert statuses == {mail["id"]: ("uncertain", "delivery.interrupted"), web["id"]: ("sent", None)}
    assert sink.received == [] and [k for k, _ in hook.deliveries] == [f"{workspace.id}:{web['id']}"]


def test_bad_requests_are_refused_with_codes(runtime: Runtime, client: Any, workspace: Any, other_workspace: Any
                                             ) -> None:
    profile = person(client, workspace)
    cases = [
        ({"channel": "wecom", "content": {"x": 1}}, 422, "messaging.invalid"),  # needs text or attachments
        ({"content": {"text": "no subject"}}, 422, "messaging.invalid"),
        ({"channel": "pigeon"}, 400, "request.invalid"),
        ({"profile_id": 999999}, 404, None),
    ]
    for extra, status, code in cases:
        response = queue(client, workspace, profile, **extra)
        assert response.status_code == status, (extra, response.text)
        assert "error" in response.json()
        if code:
            assert response.json()["error"]["code"] == code
    other = client.get("/api/messages", params={"profile_id": profile}, headers=other_workspace.bearer())
    assert other.status_code == 404  # another workspace cannot read this person's messages
    analyst_denied = client.post("/api/messages", headers={"Authorization": "Bearer nope"}, json={})
    assert analyst_denied.status_code == 401
    with read(runtime.engine) as conn:
        assert conn.execute(messages.select().where(messages.c.workspace_id == workspace.id)).all() == []
    assert Status.QUEUED.final is False


def test_a_template_is_rendered_for_the_person_when_sent(runtime: Runtime, client: Any, workspace: Any,
                                                         smtp: tuple[SmtpSink, int]) -> None:
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port)
    profile = person(client, workspace)
    template = {"subject": {"zh": "{{ profile.traits.name | default('亲爱的顾客') }}，您的订单已发货",
                            "en": "Your order has shipped"},
                "text": "订单 {{ profile.rollups.order_count }} 笔，合计 {{ profile.rollups.total_spend | money }}"}
    preview = client.post("/api/messages/preview", headers=workspace.bearer(), json={
        "profile_id": profile, "channel": "email", "purpose": "transactional", "template": template})
    assert preview.status_code == 200, preview.text
    assert preview.json()["payload"]["subject"] == "亲爱的顾客，您的订单已发货" and preview.json()["sendable"]
    queued = queue(client, workspace, profile, content=None, template=template)
    assert queued.status_code == 202, queued.text
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "u1", "traits": {"name": "李娜"}})
    assert deliver(runtime, workspace).sent == 1
    assert str(sink.received[0]["Subject"]) == "李娜，您的订单已发货"  # the profile as it is at send time
    assert "¥0.00" in sink.received[0].get_body(("plain",)).get_content()
    [entry] = log(client, workspace, profile)
    assert entry["payload"]["subject"] == "李娜，您的订单已发货"  # the log shows what was sent
    broken = queue(client, workspace, profile, content=None, template={"subject": "{{ oops", "text": "x"})
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "messaging.invalid_template"
    both = queue(client, workspace, profile, template=template)
    assert both.status_code == 422 and both.json()["error"]["code"] == "messaging.invalid"


def test_a_send_that_may_have_reached_the_provider_is_uncertain_not_failed(runtime: Runtime, client: Any,
                                                                          workspace: Any) -> None:
    from siyu.channels.base import ChannelError

    class TimesOut:
        idempotent = False
        calls = 0

        def send(self, _delivery: Any) -> str | None:
            TimesOut.calls += 1
            raise ChannelError("sms.uncertain", "read timeout after the request was sent", retryable=False)

    configure(runtime, workspace.id)
    profile = person(client, workspace)
    message = queue(client, workspace, profile, channel="webhook", content={"n": 1}).json()
    report = delivery.deliver_due(runtime.engine, workspace_id=workspace.id, adapters=lambda _w, _m: TimesOut())
    assert report.uncertain == 1 and TimesOut.calls == 1
    clock.advance(timedelta(hours=1))
    delivery.deliver_due(runtime.engine, workspace_id=workspace.id, adapters=lambda _w, _m: TimesOut())
    final = client.get(f"/api/messages/{message['id']}", headers=workspace.bearer()).json()
    assert (final["status"], final["reason"], TimesOut.calls) == ("uncertain", "sms.uncertain", 1)


def test_wechat_messages_go_to_the_openid_of_the_account_that_sends(runtime: Runtime, client: Any,
                                                                    workspace: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {
            "channels": {"wechat": {"appid": "wxOA", "secret": "s"}}, "messaging": {"quiet_start": None}})
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "w1", "context": {"externalIds": [
        {"type": "wechat_openid:wxMini", "id": "o-mini"}, {"type": "wechat_openid:wxOA", "id": "o-oa"}]}})
    profile = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "w1"},
                         headers=workspace.bearer()).json()["id"]
    checked = client.post("/api/messages/check", headers=workspace.bearer(), json={
        "profile_id": profile, "channel": "wechat_template", "purpose": "transactional"})
    assert checked.json()["address"] == "wxOA:o-oa"  # not the mini program's openid
