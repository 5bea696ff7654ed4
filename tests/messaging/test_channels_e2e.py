"""SMS and WeChat end to end on both databases: ``POST /api/messages`` → the outbox → the delivery
worker → siyu's own adapters → local fakes that speak Aliyun's and WeChat's real protocols."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.channels.fakes import FakeAliyunSms, FakeWeChat
from siyu.db.engine import read, write
from siyu.db.tables import messages
from siyu.messaging import delivery
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

KEY_ID, KEY_SECRET = "LTAI5tE2eTest", "aliyun-secret"
SMS_CONTENT = {"sign_name": "完美日记", "template_code": "SMS_465", "params": {"name": "林娜", "order": "2451"}}


@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms({KEY_ID: KEY_SECRET}, signs={"完美日记"}, templates={"SMS_465": ["name", "order"]}) as fake:
        yield fake


def configure(runtime: Runtime, workspace_id: int, **channels: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {
            "channels": channels, "messaging": {"quiet_start": None, "cooldown_minutes": 0}})


def person(client: Any, workspace: Any, user: str, **identify: Any) -> int:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": user, **identify})
    assert sent.status_code == 200, sent.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user}, headers=workspace.bearer())
    return found.json()["id"]


def queue(client: Any, workspace: Any, profile_id: int, channel: str, content: dict[str, Any],
          purpose: str = "transactional") -> Any:
    response = client.post("/api/messages", headers=workspace.bearer(), json={
        "profile_id": profile_id, "channel": channel, "purpose": purpose, "content": content})
    return response


def deliver(runtime: Runtime, workspace: Any) -> delivery.DeliveryReport:
    return delivery.deliver_due(runtime.engine, workspace_id=workspace.id)


def message(client: Any, workspace: Any, message_id: int) -> dict[str, Any]:
    return client.get(f"/api/messages/{message_id}", headers=workspace.bearer()).json()


def provider_id(runtime: Runtime, workspace: Any, message_id: int) -> str | None:
    with read(runtime.engine) as conn:
        return conn.execute(select(messages.c.provider_id).where(
            messages.c.workspace_id == workspace.id, messages.c.id == message_id)).scalar_one()


# --- SMS ----------------------------------------------------------------------------------------

def test_an_sms_reaches_aliyun_signed_with_the_delivery_key_as_out_id(runtime: Runtime, client: Any, workspace: Any,
                                                                       aliyun: FakeAliyunSms) -> None:
    configure(runtime, workspace.id, sms={"provider": "aliyun", "access_key_id": KEY_ID,
                                          "access_key_secret": KEY_SECRET, "endpoint": aliyun.url})
    profile = person(client, workspace, "u-sms", traits={"phone": "139 1234 5678"})
    queued = queue(client, workspace, profile, "sms", SMS_CONTENT)
    assert queued.status_code == 202, queued.text
    report = deliver(runtime, workspace)
    assert report.sent == 1 and deliver(runtime, workspace).sent == 0
    [received] = aliyun.received
    assert (received.phone_numbers, received.sign_name, received.template_code, received.params) == \
        ("13912345678", "完美日记", "SMS_465", {"name": "林娜", "order": "2451"})
    sent = message(client, workspace, queued.json()["id"])
    assert (sent["status"], sent["recipient"], sent["attempts"]) == ("sent", "+8613912345678", 1)
    assert received.out_id == f"{workspace.id}:{sent['id']}"
    assert provider_id(runtime, workspace, sent["id"]) == received.biz_id


def test_sms_rate_limits_are_retried_and_refusals_fail_with_the_providers_code(
        runtime: Runtime, client: Any, workspace: Any, aliyun: FakeAliyunSms) -> None:
    configure(runtime, workspace.id, sms={"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET,
                                          "endpoint": aliyun.url})
    clock.freeze(clock.now())
    lina = person(client, workspace, "u-lina", traits={"phone": "+8613912345678"})
    wei = person(client, workspace, "u-wei", traits={"phone": "+8613812345679"})
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    limited = queue(client, workspace, lina, "sms", SMS_CONTENT).json()
    assert deliver(runtime, workspace).reasons == {"sms.rate_limited": 1}
    held = message(client, workspace, limited["id"])
    assert (held["status"], held["reason"]) == ("queued", "sms.rate_limited")
    assert held["detail"].startswith("isv.BUSINESS_LIMIT_CONTROL")
    clock.advance(timedelta(seconds=31))
    assert deliver(runtime, workspace).sent == 1

    aliyun.fail_number("13812345679", "isv.MOBILE_NUMBER_ILLEGAL")
    bad_number = queue(client, workspace, wei, "sms", SMS_CONTENT).json()
    missing = queue(client, workspace, lina, "sms", {**SMS_CONTENT, "params": {"name": "林娜"}}).json()
    assert deliver(runtime, workspace).failed == 2
    assert (message(client, workspace, bad_number["id"])["reason"],
            message(client, workspace, missing["id"])["reason"]) == ("sms.invalid_number", "sms.rejected")
    assert message(client, workspace, missing["id"])["detail"].startswith("isv.TEMPLATE_MISSING_PARAMETERS")
    assert len(aliyun.received) == 1


def test_wrong_sms_credentials_fail_the_message_and_send_nothing(runtime: Runtime, client: Any, workspace: Any,
                                                                  aliyun: FakeAliyunSms) -> None:
    configure(runtime, workspace.id, sms={"access_key_id": KEY_ID, "access_key_secret": "leaked-and-rotated",
                                          "endpoint": aliyun.url})
    profile = person(client, workspace, "u-cred", traits={"phone": "+8613912345678"})
    queued = queue(client, workspace, profile, "sms", SMS_CONTENT).json()
    assert deliver(runtime, workspace).reasons == {"sms.credentials": 1}
    failed = message(client, workspace, queued["id"])
    assert (failed["status"], failed["detail"].split(":")[0]) == ("failed", "SignatureDoesNotMatch")
    assert aliyun.received == [] and aliyun.refused == ["SignatureDoesNotMatch"]


def test_sms_payloads_are_checked_when_queued(runtime: Runtime, client: Any, workspace: Any) -> None:
    profile = person(client, workspace, "u-check", traits={"phone": "+8613912345678"})
    cases: list[tuple[dict[str, Any], str]] = [({"template_code": "SMS_465"}, "content.sign_name"),
                                               ({**SMS_CONTENT, "params": {"order": 2451}}, "content.params")]
    for content, field in cases:
        refused = queue(client, workspace, profile, "sms", content)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "messaging.invalid"
        assert refused.json()["error"]["details"]["field"] == field


# --- WeChat official account ---------------------------------------------------------------------

TEMPLATE = {"template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY", "url": "https://brand.cn/o/2451",
            "data": {"character_string1": {"value": "2451"}, "thing2": {"value": "小细跟口红已发货"}}}
TEXT = {"msgtype": "text", "text": {"content": "您好，您的包裹已到驿站。"}}


@pytest.fixture
def wechat() -> Iterator[tuple[FakeWeChat, str]]:
    appid = f"wx{secrets.token_hex(8)}"  # an account of its own: the process-wide token cache is keyed by it
    with FakeWeChat({appid: "app-secret"}) as fake:
        yield fake, appid


def follower(client: Any, workspace: Any, appid: str, openid: str) -> int:
    return person(client, workspace, f"u-{openid}",
                  context={"externalIds": [{"type": f"wechat_openid:{appid}", "id": openid}]})


def track(client: Any, workspace: Any, openid: str, event: str) -> None:
    sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={"userId": f"u-{openid}", "event": event})
    assert sent.status_code == 200, sent.text


def set_up_wechat(runtime: Runtime, workspace: Any, fake: FakeWeChat, appid: str) -> None:
    """One hand-over at a time (``concurrency: 1``): these tests follow WeChat's answers in send order."""
    configure(runtime, workspace.id, wechat={"appid": appid, "secret": "app-secret", "base_url": fake.url,
                                             "concurrency": 1})


def test_template_messages_share_one_token_and_survive_its_expiry_mid_run(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    set_up_wechat(runtime, workspace, fake, appid)
    # WeChat's clock runs 2,000 s per message here: the 7,200 s token expires after the 4th send,
    # long before this process expected, and the 5th is refused with 42001.
    start = fake.now()
    fake.now = lambda: start + 2000 * len(fake.received)
    people = [follower(client, workspace, appid, f"oBuyer{n}") for n in range(5)]
    queued = [queue(client, workspace, p, "wechat_template", TEMPLATE).json() for p in people]
    report = deliver(runtime, workspace)
    assert (report.sent, report.retried, report.failed) == (5, 0, 0)
    assert fake.token_refusals == [42001]
    assert fake.token_fetches == [("stable_token", appid)] * 2
    assert [r.openid for r in fake.received] == [f"oBuyer{n}" for n in range(5)]
    first = message(client, workspace, queued[0]["id"])
    assert (first["status"], first["recipient"]) == ("sent", f"{appid}:oBuyer0")
    assert provider_id(runtime, workspace, first["id"]) == str(fake.received[0].msgid)
    assert fake.received[0].body["client_msg_id"] == f"siyu_{workspace.id}_{first['id']}"


def test_an_unfollowed_person_fails_with_43004_and_an_unfollowed_event_stops_the_next_before_wechat(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    set_up_wechat(runtime, workspace, fake, appid)
    profile = follower(client, workspace, appid, "oGone")
    fake.unfollow("oGone")
    first = queue(client, workspace, profile, "wechat_template", TEMPLATE).json()
    assert deliver(runtime, workspace).reasons == {"wechat.unfollowed": 1}
    failed = message(client, workspace, first["id"])
    assert (failed["status"], failed["detail"].split(" rid")[0]) == ("failed", "errcode 43004: require subscribe")
    # What WeChat's unsubscribe callback records; with it the policy stops the message itself.
    track(client, workspace, "oGone", "Unfollowed")
    second = queue(client, workspace, profile, "wechat_template", TEMPLATE).json()
    assert deliver(runtime, workspace).reasons == {"policy.unfollowed": 1}
    assert message(client, workspace, second["id"])["status"] == "stopped"
    assert fake.refused == [("oGone", 43004)] and fake.received == []


def test_43004_records_unfollowed_for_the_account_with_the_failure_and_the_next_message_stops_before_wechat(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    set_up_wechat(runtime, workspace, fake, appid)
    profile = follower(client, workspace, appid, "oLeft")
    track(client, workspace, "oLeft", "Followed")
    fake.unfollow("oLeft")  # WeChat's unsubscribe callback never reached siyu
    first = queue(client, workspace, profile, "wechat_template", TEMPLATE).json()
    assert deliver(runtime, workspace).reasons == {"wechat.unfollowed": 1}
    assert message(client, workspace, first["id"])["status"] == "failed"
    timeline = client.get(f"/api/profiles/{profile}/events", headers=workspace.bearer()).json()["items"]
    [unfollowed] = [e for e in timeline if e["name"] == "Unfollowed"]
    assert unfollowed["properties"]["appid"] == appid
    assert (unfollowed["properties"]["message_id"], unfollowed["properties"]["errcode"]) == (first["id"], 43004)
    second = queue(client, workspace, profile, "wechat_template", TEMPLATE).json()
    assert deliver(runtime, workspace).reasons == {"policy.unfollowed": 1}
    assert message(client, workspace, second["id"])["status"] == "stopped"
    assert fake.refused == [("oLeft", 43004)]  # WeChat was asked once


def test_customer_service_messages_inside_the_window_with_the_daily_quota_and_window_refusals(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    set_up_wechat(runtime, workspace, fake, appid)
    clock.freeze(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))  # 14:00 in Beijing
    asked, busy, late = (follower(client, workspace, appid, f"o{name}") for name in ("Asked", "Busy", "Late"))
    for openid in ("oAsked", "oBusy", "oLate"):
        track(client, workspace, openid, "Message Received")  # opens the 48-hour window
    fake.fail_openid("oLate", 45047)  # WeChat counts the window differently from what siyu saw
    queued = {openid: queue(client, workspace, profile, "wechat_cs", TEXT).json()["id"]
              for openid, profile in (("oAsked", asked), ("oBusy", busy), ("oLate", late))}
    fake.fail_next(45009)  # the daily API quota, for the first send of the round
    report = deliver(runtime, workspace)
    assert (report.sent, report.failed, report.deferred, report.retried) == (1, 1, 1, 0)
    assert report.reasons == {"wechat.outside_window": 1, "wechat.daily_quota": 1}
    assert message(client, workspace, queued["oLate"])["detail"].startswith("errcode 45047")
    [held] = [message(client, workspace, id_) for id_ in queued.values()
              if message(client, workspace, id_)["status"] == "queued"]
    assert (held["reason"], held["attempts"]) == ("wechat.daily_quota", 0)  # it used up no attempt
    assert held["detail"].startswith("errcode 45009") and "2026-12-01T00:00+08:00" in held["detail"]
    clock.advance(timedelta(hours=9, minutes=59))  # 23:59 in Beijing: the quota is still used up
    assert deliver(runtime, workspace).sent == 0 and len(fake.received) == 1
    clock.advance(timedelta(minutes=1))  # midnight in Beijing: a new day's quota
    assert deliver(runtime, workspace).sent == 1
    assert sorted(r.openid for r in fake.received) == ["oAsked", "oBusy"]
    assert fake.received[0].body in ({"touser": "oAsked", **TEXT}, {"touser": "oBusy", **TEXT})
    assert fake.token_fetches == [("stable_token", appid)]


def test_wechat_payloads_are_checked_when_queued_and_settings_are_named(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    profile = follower(client, workspace, appid, "oCheck")
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("wechat_template", {"data": TEMPLATE["data"]}, "content.template_id"),
        ("wechat_cs", {"msgtype": "voice"}, "content.msgtype"),
        ("wechat_cs", {"msgtype": "text", "text": {}}, "content.text.content")]
    for channel, content, field in cases:
        refused = queue(client, workspace, profile, channel, content)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"]["field"] == field
    queued = queue(client, workspace, profile, "wechat_template", TEMPLATE).json()  # no settings.channels.wechat
    assert deliver(runtime, workspace).reasons == {"channels.not_configured": 1}
    assert "settings.channels.wechat" in message(client, workspace, queued["id"])["detail"]


def test_templates_rendered_at_send_time_reach_both_providers(runtime: Runtime, client: Any, workspace: Any,
                                                               aliyun: FakeAliyunSms,
                                                               wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    configure(runtime, workspace.id, sms={"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET,
                                          "endpoint": aliyun.url},
              wechat={"appid": appid, "secret": "app-secret", "base_url": fake.url})
    profile = person(client, workspace, "u-tpl", traits={"phone": "+8613912345678", "name": "林娜"},
                     context={"externalIds": [{"type": f"wechat_openid:{appid}", "id": "oTpl"}]})
    for channel, template in [
            ("sms", {"sign_name": "【完美日记】", "template_code": "SMS_465",
                     "params": {"name": "{{ profile.traits.name | default('顾客') }}", "order": "2451"}}),
            ("wechat_template", {"template_id": TEMPLATE["template_id"],
                                 "data": {"thing2": "{{ profile.traits.name }}的口红已发货"}})]:
        queued = client.post("/api/messages", headers=workspace.bearer(), json={
            "profile_id": profile, "channel": channel, "purpose": "transactional", "template": template})
        assert queued.status_code == 202, queued.text
    assert deliver(runtime, workspace).sent == 2
    assert (aliyun.received[0].sign_name, aliyun.received[0].params) == ("完美日记", {"name": "林娜", "order": "2451"})
    assert fake.received[0].body["data"] == {"thing2": {"value": "林娜的口红已发货"}}
