"""Default welcome messages on both databases: a follow is answered with the personalised passive reply
(encrypted in safe mode), a WeCom add is greeted through send_welcome_msg with the push's code on the fake
WeCom server, retries greet nobody twice, and a channel code's own welcome wins over the default."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.acquisition.welcome import queue_welcome
from siyu.callbacks import hooks
from siyu.channels.fakes import FakeWeCom
from siyu.db.engine import read
from siyu.messaging import delivery
from siyu.messaging import store as messaging_store
from siyu.runtime import Runtime
from tests.callbacks.test_endpoints import AES_KEY, CORP, NOON, TOKEN, configure, events, platform

APPID = "wx1f2e3d4c5b6a7980"
TEXT = {"msgtype": "text", "text": {"content": "{{ profile.traits.name | default('新朋友') }}，欢迎关注完美日记！"}}


@pytest.fixture
def wecom_api() -> Iterator[FakeWeCom]:
    with FakeWeCom({CORP: "contact-secret"}, check_contacts=False) as fake:
        yield fake


def test_a_follow_is_answered_with_the_personalised_welcome_in_safe_mode(
        runtime: Runtime, client: Any, workspace: Any) -> None:
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN, "encoding_aes_key": AES_KEY})
    clock.freeze(NOON)
    saved = client.put("/api/replies/welcome/wechat", headers=workspace.bearer(), json={"content": TEXT})
    assert saved.status_code == 200 and saved.json()["enabled"] is True
    safe = platform(client, workspace.id, mode="safe")
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={
        "userId": "u-lina", "traits": {"name": "李娜"},
        "context": {"externalIds": [{"type": f"wechat_openid:{APPID}", "id": "oLina"}]}})
    reply = safe.reply(safe.push(safe.follow("oLina", scene="tmall_card")))
    assert (reply["MsgType"], reply["Content"]) == ("text", "李娜，欢迎关注完美日记！")
    stranger = safe.reply(safe.push(safe.follow("oNew")))
    assert stranger["Content"] == "新朋友，欢迎关注完美日记！"
    clock.advance(timedelta(seconds=5))
    assert safe.resend().text == "success"  # WeChat's retry of the follow: stored and greeted once
    assert client.get("/api/replies/welcome/wechat", headers=workspace.bearer()).json()["sent_count"] == 2
    # switched off: the follow is recorded, nobody is greeted
    client.put("/api/replies/welcome/wechat", headers=workspace.bearer(), json={"content": TEXT, "enabled": False})
    clock.advance(timedelta(minutes=1))
    assert safe.push(safe.follow("oLater")).text == "success"
    assert [e["name"] for e in events(client, workspace, f"wechat_openid:{APPID}", "oLater")] == ["Followed"]


def test_a_mini_program_welcome_goes_through_the_outbox(runtime: Runtime, client: Any, workspace: Any) -> None:
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN})
    clock.freeze(NOON)
    card = {"msgtype": "miniprogrampage", "miniprogrampage": {
        "title": "{{ profile.traits.name | default('你') }}的新人礼", "appid": "wxMini", "pagepath": "pages/gift",
        "thumb_media_id": "thumb-1"}}
    assert client.put("/api/replies/welcome/wechat", headers=workspace.bearer(),
                      json={"content": card}).status_code == 200
    oa = platform(client, workspace.id)
    assert oa.push(oa.follow("oMini")).text == "success"  # nothing passive: the card is a customer-service message
    oa.resend()
    profile = events(client, workspace, f"wechat_openid:{APPID}", "oMini")[0]["profile_id"]
    items = client.get("/api/messages", headers=workspace.bearer(), params={"profile_id": profile}).json()
    assert [(m["channel"], m["source"], m["purpose"]) for m in items] == [("wechat_cs", "welcome", "transactional")]
    with read(runtime.engine) as conn:
        queued = messaging_store.get(conn, workspace.id, items[0]["id"])
    assert queued is not None and queued.payload["miniprogrampage"]["title"] == "你的新人礼"


def test_a_wecom_add_is_greeted_with_send_welcome_msg_using_the_pushs_code(
        runtime: Runtime, client: Any, workspace: Any, wecom_api: FakeWeCom) -> None:
    configure(runtime, workspace.id, wecom={"corpid": CORP, "secret": "contact-secret", "base_url": wecom_api.url,
                                            "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    clock.freeze(NOON)
    content = {"text": {"content": "你好，我是小完子～"}, "attachments": [
        {"msgtype": "link", "link": {"title": "新人礼包", "url": "https://brand.cn/gift", "picurl": "https://p.cn/1"}},
        {"msgtype": "miniprogram", "miniprogram": {"title": "会员中心", "pic_media_id": "MEDIA", "appid": "wxMini",
                                                   "page": "pages/member"}}]}
    assert client.put("/api/replies/welcome/wecom", headers=workspace.bearer(),
                      json={"content": content}).status_code == 200
    wecom = platform(client, workspace.id, "wecom")
    assert wecom.push(wecom.contact_added("xiaowanzi", "wmCustomer0001", welcome_code="CODE-1")).text == ""
    wecom.resend()  # a retry queues nothing twice
    wecom.push(wecom.contact("add_external_contact", "xiaowanzi", "wmChatted00002"))  # no code: already chatted
    report = delivery.deliver_due(runtime.engine, workspace_id=workspace.id)
    assert report.sent == 1
    assert wecom_api.welcomes == [{"welcome_code": "CODE-1", **content}]
    assert wecom_api.received == []  # a welcome message, not a mass-message task


def test_a_channel_codes_welcome_wins_over_the_default(runtime: Runtime, client: Any, workspace: Any) -> None:
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN})
    clock.freeze(NOON)
    client.put("/api/replies/welcome/wechat", headers=workspace.bearer(), json={"content": TEXT})

    def channel_code(conn: Any, runtime_: Any, event: hooks.InboundEvent, outcome: hooks.Outcome) -> None:
        if event.fields.get("EventKey") == "qrscene_xhs_note":
            queue_welcome(conn, runtime_, event, {"msgtype": "text", "text": {"content": "小红书的朋友你好"}}, outcome,
                          source="channel_code:7")

    hooks.register("wechat", "subscribe", channel_code, priority=50)
    try:
        oa = platform(client, workspace.id)
        assert oa.reply(oa.push(oa.follow("oXhs", scene="xhs_note")))["Content"] == "小红书的朋友你好"
        assert oa.reply(oa.push(oa.follow("oPlain")))["Content"] == "新朋友，欢迎关注完美日记！"
    finally:
        hooks._handlers[("wechat", "subscribe")] = [e for e in hooks._handlers[("wechat", "subscribe")]
                                                    if e[2] is not channel_code]
    assert client.get("/api/replies/welcome/wechat", headers=workspace.bearer()).json()["sent_count"] == 1


def test_welcome_messages_are_checked_before_they_are_stored(client: Any, workspace: Any,
                                                              other_workspace: Any) -> None:
    cases = [
        ("wechat", {"content": {"msgtype": "voice", "voice": {"media_id": "m"}}}, 422, "replies.invalid"),
        ("wechat", {"content": {"msgtype": "text", "text": {"content": "{{ profile.traits.name "}}}, 422,
         "messaging.invalid_template"),
        ("wecom", {"content": {"attachments": [{"msgtype": "link", "link": {"title": "t"}}]}}, 422,
         "messaging.invalid_template"),
        ("wechat", {"content": TEXT, "enabled": "yes"}, 422, "replies.invalid"),
        ("sms", {"content": TEXT}, 400, "request.invalid"),
    ]
    for platform_, body, status, code in cases:
        answer = client.put(f"/api/replies/welcome/{platform_}", headers=workspace.bearer(), json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert client.get("/api/replies/welcome", headers=workspace.bearer()).json() == {"items": []}
    client.put("/api/replies/welcome/wechat", headers=workspace.bearer(), json={"content": TEXT})
    assert client.get("/api/replies/welcome/wechat", headers=other_workspace.bearer()).status_code == 404
    assert client.delete("/api/replies/welcome/wechat", headers=other_workspace.bearer()).status_code == 404
    assert client.delete("/api/replies/welcome/wechat", headers=workspace.bearer()).status_code == 204
