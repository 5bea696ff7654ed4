"""WeCom messages and WeChat subscription notices end to end on both databases: the API → the outbox
→ the delivery worker → siyu's adapters → local fakes speaking WeCom's and WeChat's protocols."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from siyu.channels.fakes import FakeWeChat, FakeWeCom
from siyu.db.engine import write
from siyu.messaging import delivery
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

TEXT = {"text": {"content": "林娜您好，会员专场今晚 8 点开始。"}}
NOTICE = {"template_id": "tplArrival", "data": {"thing1": {"value": "小细跟口红已到货"},
                                                "time2": {"value": "2026年11月30日 15:01"}}}


def configure(runtime: Runtime, workspace_id: int, messaging: dict[str, Any] | None = None, **channels: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {
            "channels": channels, "messaging": {"quiet_start": None, "cooldown_minutes": 0, **(messaging or {})}})


def person(client: Any, workspace: Any, user: str, external_type: str, external_id: str) -> int:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={
        "userId": user, "context": {"externalIds": [{"type": external_type, "id": external_id}]}})
    assert sent.status_code == 200, sent.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user}, headers=workspace.bearer())
    return found.json()["id"]


def queue(client: Any, workspace: Any, profile_id: int, channel: str, content: dict[str, Any] | None = None,
          purpose: str = "marketing", **body: Any) -> Any:
    return client.post("/api/messages", headers=workspace.bearer(), json={
        "profile_id": profile_id, "channel": channel, "purpose": purpose,
        **({"content": content} if content is not None else {}), **body})


def deliver(runtime: Runtime, workspace: Any) -> delivery.DeliveryReport:
    return delivery.deliver_due(runtime.engine, workspace_id=workspace.id)


def message(client: Any, workspace: Any, message_id: int) -> dict[str, Any]:
    return client.get(f"/api/messages/{message_id}", headers=workspace.bearer()).json()


# --- WeCom ----------------------------------------------------------------------------------------

@pytest.fixture
def wecom() -> Iterator[tuple[FakeWeCom, str]]:
    corp = f"ww{secrets.token_hex(8)}"
    with FakeWeCom({corp: "contact-secret"}, members={"zhangsan", "lisi"}) as fake:
        yield fake, corp


def set_up_wecom(runtime: Runtime, workspace: Any, fake: FakeWeCom, corp: str, **messaging: Any) -> None:
    configure(runtime, workspace.id, messaging, wecom={"corpid": corp, "secret": "contact-secret",
                                                       "base_url": fake.url, "sender": "zhangsan"})


def test_a_wecom_message_is_sent_by_the_member_who_added_the_customer(
        runtime: Runtime, client: Any, workspace: Any, wecom: tuple[FakeWeCom, str]) -> None:
    fake, corp = wecom
    set_up_wecom(runtime, workspace, fake, corp)
    lina = person(client, workspace, "u-lina", f"wecom_external_userid:{corp}", "wmLina")
    wei = person(client, workspace, "u-wei", f"wecom_external_userid:{corp}", "wmWei")
    added = client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "userId": "u-wei", "event": "WeCom Contact Added", "properties": {"userid": "lisi"}})
    assert added.status_code == 200, added.text
    fake.add_contact("wmLina", "zhangsan")
    fake.add_contact("wmWei", "lisi")
    queued = {name: queue(client, workspace, profile, "wecom", TEXT).json()["id"]
              for name, profile in (("lina", lina), ("wei", wei))}
    fake.expire_tokens()  # nothing fetched yet: harmless; the first send fetches
    report = deliver(runtime, workspace)
    assert (report.sent, report.failed) == (2, 0), report
    assert {(task.sender, task.external_userids) for task in fake.received} == {
        ("zhangsan", ("wmLina",)), ("lisi", ("wmWei",))}
    sent = message(client, workspace, queued["wei"])
    assert (sent["status"], sent["recipient"]) == ("sent", f"{corp}:wmWei/lisi")
    assert message(client, workspace, queued["lina"])["recipient"] == f"{corp}:wmLina"
    assert fake.token_fetches == [corp]


def test_the_customers_receive_limit_stops_before_wecom_and_wecom_refusals_fail(
        runtime: Runtime, client: Any, workspace: Any, wecom: tuple[FakeWeCom, str]) -> None:
    fake, corp = wecom
    set_up_wecom(runtime, workspace, fake, corp, wecom_limit="day")
    lina = person(client, workspace, "u-lina", f"wecom_external_userid:{corp}", "wmLina")
    stranger = person(client, workspace, "u-x", f"wecom_external_userid:{corp}", "wmStranger")
    fake.add_contact("wmLina", "zhangsan")
    first = queue(client, workspace, lina, "wecom", TEXT).json()["id"]
    refused = queue(client, workspace, stranger, "wecom", TEXT).json()["id"]  # not zhangsan's customer
    assert deliver(runtime, workspace).reasons == {"wecom.not_delivered": 1}
    second = queue(client, workspace, lina, "wecom", TEXT, purpose="transactional").json()["id"]
    assert deliver(runtime, workspace).reasons == {"policy.wecom_limit": 1}
    assert [message(client, workspace, m)["status"] for m in (first, refused, second)] == \
        ["sent", "failed", "stopped"]
    assert len(fake.received) == 1 and fake.failed == [("wmStranger", "not a contact of the sender")]


def test_wecom_content_is_checked_when_queued(runtime: Runtime, client: Any, workspace: Any) -> None:
    profile = person(client, workspace, "u-c", "wecom_external_userid:wwx", "wmC")
    for content, field in [({"text": {}}, "content.text.content"),
                           ({"attachments": [{"msgtype": "voice"}]}, "content.attachments[0].msgtype")]:
        refused = queue(client, workspace, profile, "wecom", content)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"]["field"] == field
    queued = queue(client, workspace, profile, "wecom", TEXT, purpose="transactional").json()["id"]  # no settings
    assert deliver(runtime, workspace).reasons == {"channels.not_configured": 1}
    assert "settings.channels.wecom" in message(client, workspace, queued)["detail"]


# --- WeChat subscription notices -------------------------------------------------------------------

@pytest.fixture
def wechat() -> Iterator[tuple[FakeWeChat, str]]:
    appid = f"wx{secrets.token_hex(8)}"
    with FakeWeChat({appid: "app-secret"}) as fake:
        yield fake, appid


def grant(client: Any, workspace: Any, profile_id: int, template_id: str = "tplArrival", **body: Any) -> Any:
    return client.post("/api/messages/subscribe-grants", headers=workspace.bearer(),
                       json={"profile_id": profile_id, "template_id": template_id, **body})


def test_a_subscription_notice_takes_one_grant_and_the_next_is_stopped(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    configure(runtime, workspace.id, wechat={"appid": appid, "secret": "app-secret", "base_url": fake.url})
    lina = person(client, workspace, "u-lina", f"wechat_openid:{appid}", "oLina")
    before = queue(client, workspace, lina, "wechat_subscribe", NOTICE).json()["id"]
    assert deliver(runtime, workspace).reasons == {"policy.no_subscription": 1}
    recorded = grant(client, workspace, lina, idempotency_key="popup-1")
    assert recorded.status_code == 201, recorded.text
    assert grant(client, workspace, lina, idempotency_key="popup-1").status_code == 200  # a repeated callback
    fake.subscribe("oLina", "tplArrival")
    first = queue(client, workspace, lina, "wechat_subscribe", NOTICE).json()["id"]
    second = queue(client, workspace, lina, "wechat_subscribe", NOTICE).json()["id"]
    report = deliver(runtime, workspace)
    assert (report.sent, report.reasons) == (1, {"policy.no_subscription": 1})
    assert [message(client, workspace, m)["status"] for m in (before, first, second)] == \
        ["stopped", "sent", "stopped"]
    [received] = fake.received
    assert received.kind == "subscribe" and received.body["data"] == NOTICE["data"]
    grants = client.get("/api/messages/subscribe-grants", params={"profile_id": lina},
                        headers=workspace.bearer()).json()
    assert [(g["template_id"], g["used_by_message"]) for g in grants] == [("tplArrival", first)]


def test_a_grant_whose_notice_wechat_refused_is_free_again(
        runtime: Runtime, client: Any, workspace: Any, wechat: tuple[FakeWeChat, str]) -> None:
    fake, appid = wechat
    configure(runtime, workspace.id, wechat={"appid": appid, "secret": "app-secret", "base_url": fake.url})
    lina = person(client, workspace, "u-lina", f"wechat_openid:{appid}", "oLina")
    assert grant(client, workspace, lina).status_code == 201
    refused = queue(client, workspace, lina, "wechat_subscribe", NOTICE, purpose="transactional").json()["id"]
    assert deliver(runtime, workspace).reasons == {"wechat.not_subscribed": 1}  # WeChat had no subscription
    fake.subscribe("oLina", "tplArrival")
    again = queue(client, workspace, lina, "wechat_subscribe", NOTICE, purpose="transactional").json()["id"]
    assert deliver(runtime, workspace).sent == 1
    assert [message(client, workspace, m)["status"] for m in (refused, again)] == ["failed", "sent"]
    other = queue(client, workspace, lina, "wechat_subscribe", {**NOTICE, "template_id": "tplOther"}).json()["id"]
    assert deliver(runtime, workspace).reasons == {"policy.no_subscription": 1}  # grants are per template
    assert message(client, workspace, other)["status"] == "stopped"


def test_subscription_notices_and_grants_are_checked(runtime: Runtime, client: Any, workspace: Any,
                                                     other_workspace: Any) -> None:
    profile = person(client, workspace, "u-c", "wechat_openid:wxapp", "oC")
    too_long = queue(client, workspace, profile, "wechat_subscribe",
                     {**NOTICE, "data": {"thing1": {"value": "字" * 21}}})
    assert too_long.status_code == 422 and too_long.json()["error"]["details"]["field"] == "content.data.thing1.value"
    templated = queue(client, workspace, profile, "wechat_subscribe",
                      template={**NOTICE, "template_id": "{{ profile.traits.tpl }}"})
    assert templated.status_code == 422 and templated.json()["error"]["code"] == "messaging.invalid_template"
    assert queue(client, workspace, profile, "wechat_subscribe", template=NOTICE).status_code == 202
    for body, status in [({"template_id": ""}, 400), ({"granted_at": "2026-11-30T10:00:00"}, 422),
                         ({"granted_at": "2999-01-01T00:00:00+08:00"}, 422)]:
        refused = grant(client, workspace, profile, **body)
        assert refused.status_code == status, refused.text
        assert set(refused.json()["error"]) == {"code", "message", "details"}
    assert grant(client, other_workspace, profile).status_code == 404  # another workspace's person
    assert client.get("/api/messages/subscribe-grants", params={"profile_id": profile},
                      headers=other_workspace.bearer()).status_code == 404
