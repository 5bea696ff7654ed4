"""The callback endpoints on both databases, driven by fake platforms that sign and encrypt pushes the
way WeChat and WeCom do: every common push becomes one siyu event on the right person, retries are
dropped, handlers run once, passive replies go back (encrypted in safe mode), forgeries are refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from siyu import clock
from siyu.callbacks import hooks
from siyu.channels.fakes.callbacks import FakeCallbacks
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
TOKEN = "wx-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "ww5823bf96d3bd56c7"


def configure(runtime: Runtime, workspace_id: int, **channels: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {"channels": channels})


def platform(client: httpx.Client, workspace_id: int, kind: str = "wechat", mode: str = "plaintext",
             appid: str = "wx1f2e3d4c5b6a7980") -> FakeCallbacks:
    receive_id = appid if kind == "wechat" else CORP
    return FakeCallbacks(client, f"/callbacks/{kind}/{workspace_id}", kind, TOKEN, receive_id,
                         aes_key=AES_KEY if mode != "plaintext" or kind == "wecom" else None, mode=mode,
                         now=lambda: clock.now().timestamp())


def events(client: Any, workspace: Any, type_: str, value: str) -> list[dict[str, Any]]:
    found = client.get("/api/profiles/lookup", headers=workspace.bearer(), params={"type": type_, "value": value})
    assert found.status_code == 200, found.text
    profile_id = found.json()["id"]
    items = client.get(f"/api/profiles/{profile_id}/events", headers=workspace.bearer()).json()["items"]
    return [{**item, "profile_id": profile_id} for item in reversed(items)]


@pytest.fixture
def wechat(runtime: Runtime, workspace: Any, client: Any) -> FakeCallbacks:
    configure(runtime, workspace.id, wechat={"appid": "wx1f2e3d4c5b6a7980", "token": TOKEN,
                                             "encoding_aes_key": AES_KEY})
    clock.freeze(NOON)
    return platform(client, workspace.id)


@pytest.fixture
def recorded() -> Iterator[list[hooks.InboundEvent]]:
    """Every dispatched event, through a real handler registered for the test's kinds."""
    seen: list[hooks.InboundEvent] = []

    def record(conn: Any, runtime: Any, event: hooks.InboundEvent, outcome: hooks.Outcome) -> None:
        seen.append(event)

    keys = [("wechat", k) for k in ("subscribe", "scan", "text", "click", "location", "view", "unsubscribe")] + [
        ("wecom", k) for k in ("add_external_contact", "del_follow_user", "chat_update", "chat_create", "text")]
    for platform_, kind in keys:
        hooks.register(platform_, kind, record, priority=10_000)
    yield seen
    for key in keys:
        hooks._handlers[key] = [e for e in hooks._handlers.get(key, []) if e[2] is not record]


def test_every_official_account_push_becomes_an_event_on_the_follower(
        client: Any, workspace: Any, wechat: FakeCallbacks, recorded: list[hooks.InboundEvent]) -> None:
    openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    assert wechat.verify("echo-42").text == "echo-42"
    pushes = [
        wechat.follow(openid, scene="tmall_card", ticket="gQH47jo", unionid="o6_bmasdasdsad6_2sgVt7hMZOPfL"),
        wechat.event(openid, "SCAN", EventKey="store_18", Ticket="gQH48"),
        wechat.text(openid, "新人"),
        wechat.message(openid, "image", PicUrl="https://mmbiz.qpic.cn/1.jpg", MediaId="media-1"),
        wechat.message(openid, "location", Location_X="23.134521", Location_Y="113.358803", Scale="20",
                       Label="广州"),
        wechat.event(openid, "CLICK", EventKey="V1001_GIFT"),
        wechat.event(openid, "VIEW", EventKey="https://brand.cn/shop", MenuId="208"),
        wechat.event(openid, "LOCATION", Latitude="23.137466", Longitude="113.352425", Precision="119.385040"),
        wechat.event(openid, "unsubscribe"),
    ]
    for fields in pushes:
        answer = wechat.push(fields)
        assert (answer.status_code, answer.text) == (200, "success"), answer.text
        clock.advance(timedelta(seconds=1))
    timeline = events(client, workspace, "wechat_openid:wx1f2e3d4c5b6a7980", openid)
    assert [e["name"] for e in timeline] == ["Followed", "QR Scanned", "Message Received", "Message Received",
                                             "Message Received", "Menu Clicked", "Menu Link Opened",
                                             "Location Reported", "Unfollowed"]
    followed, scanned, text, image, place, click, view, location, _ = (e["properties"] for e in timeline)
    assert followed == {"scene": "tmall_card", "ticket": "gQH47jo"}
    assert scanned == {"scene": "store_18", "ticket": "gQH48"}
    assert text == {"msg_type": "text", "msg_id": str(pushes[2]["MsgId"]), "content": "新人"}
    assert image["content"] == "https://mmbiz.qpic.cn/1.jpg" and image["media_id"] == "media-1"
    assert place == {"msg_type": "location", "msg_id": str(pushes[4]["MsgId"]), "content": "广州",
                     "latitude": "23.134521", "longitude": "113.358803", "scale": "20"}
    assert click == {"key": "V1001_GIFT"} and view == {"url": "https://brand.cn/shop", "menu_id": "208"}
    assert location == {"latitude": "23.137466", "longitude": "113.352425", "precision": "119.385040"}
    assert timeline[0]["timestamp"].startswith("2026-11-11T04:00:00")
    # the UnionId joined the same person
    by_union = client.get("/api/profiles/lookup", headers=workspace.bearer(),
                          params={"type": "wechat_unionid", "value": "o6_bmasdasdsad6_2sgVt7hMZOPfL"}).json()
    assert by_union["id"] == timeline[0]["profile_id"]
    # the location message and the location event share the kind "location" (MsgType and Event alike)
    assert [e.kind for e in recorded] == ["subscribe", "scan", "text", "location", "click", "view", "location",
                                          "unsubscribe"]
    assert all(e.profile_id == timeline[0]["profile_id"] for e in recorded)
    assert recorded[0].fields["EventKey"] == "qrscene_tmall_card" and recorded[0].event_name == "Followed"


def test_retries_of_a_push_are_stored_once_and_dispatched_once(
        client: Any, workspace: Any, wechat: FakeCallbacks, recorded: list[hooks.InboundEvent]) -> None:
    wechat.push(wechat.follow("oRetry"))
    wechat.push(wechat.text("oRetry", "hello"))
    for _ in range(3):  # WeChat retries after 5 s without an answer, 3 times; here after the answer was lost
        clock.advance(timedelta(seconds=5))
        assert wechat.resend(0).text == "success"
        assert wechat.resend(1).text == "success"
    timeline = events(client, workspace, "wechat_openid:wx1f2e3d4c5b6a7980", "oRetry")
    assert [e["name"] for e in timeline] == ["Followed", "Message Received"]
    assert [e.kind for e in recorded] == ["subscribe", "text"]
    # the same person following again later is a new event (another CreateTime)
    clock.advance(timedelta(minutes=10))
    wechat.push(wechat.follow("oRetry"))
    assert [e.kind for e in recorded] == ["subscribe", "text", "subscribe"]


@pytest.mark.parametrize("mode", ["compatible", "safe"])
def test_encrypted_modes_are_read_and_answered_in_kind(
        runtime: Runtime, client: Any, workspace: Any, wechat: FakeCallbacks, mode: str) -> None:
    encrypted = platform(client, workspace.id, mode=mode)

    def greet(conn: Any, runtime_: Any, event: hooks.InboundEvent, outcome: hooks.Outcome) -> None:
        outcome.reply = hooks.Reply("text", content=f"你好 {event.fields['Content']} ]]> <b>")

    hooks.register("wechat", "text", greet, priority=9_999)
    try:
        answer = encrypted.push(encrypted.text("oSafe", "安全模式"))
    finally:
        hooks._handlers[("wechat", "text")] = [e for e in hooks._handlers[("wechat", "text")] if e[2] is not greet]
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    assert ("<Encrypt>" in answer.text) is True
    reply = encrypted.reply(answer)
    assert reply["MsgType"] == "text" and reply["Content"] == "你好 安全模式 ]]> <b>"
    assert (reply["ToUserName"], reply["FromUserName"]) == ("oSafe", "gh_7f083739789a")
    [event] = events(client, workspace, "wechat_openid:wx1f2e3d4c5b6a7980", "oSafe")
    assert event["properties"]["content"] == "安全模式"


def test_wecom_customer_and_group_pushes_become_events_with_the_staff_member(
        runtime: Runtime, client: Any, workspace: Any, recorded: list[hooks.InboundEvent]) -> None:
    configure(runtime, workspace.id, wecom={"corpid": CORP, "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    clock.freeze(NOON)
    wecom = platform(client, workspace.id, "wecom")
    assert wecom.verify("1616140317555161061").text == "1616140317555161061"
    customer = "wmAJ2GCAAAXtWyujaWJHDDGi0mACH71w"
    pushes = [
        wecom.contact_added("xiaowanzi", customer, state="tmall_card", welcome_code="WELCOMECODE"),
        wecom.contact("edit_external_contact", "xiaowanzi", customer),
        wecom.chat("create", "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"),
        wecom.chat("update", "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", detail="add_member", JoinScene=3,
                   members=[customer, "zhangsan"]),
        wecom.chat("update", "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", detail="del_member", QuitScene=0,
                   members=[customer]),
        wecom.contact("del_follow_user", "xiaowanzi", customer),
        wecom.contact("del_external_contact", "xiaowanzi", customer, Source="DELETE_BY_TRANSFER"),
        wecom.chat("dismiss", "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"),
    ]
    for fields in pushes:
        answer = wecom.push(fields)
        assert (answer.status_code, answer.text) == (200, ""), answer.text
        clock.advance(timedelta(seconds=1))
    timeline = events(client, workspace, f"wecom_external_userid:{CORP}", customer)
    assert [e["name"] for e in timeline] == ["WeCom Contact Added", "WeCom Contact Edited", "Group Member Joined",
                                             "Group Member Left", "WeCom Contact Removed Staff",
                                             "WeCom Contact Deleted"]
    added, _, joined, left, removed, deleted = (e["properties"] for e in timeline)
    assert added == {"userid": "xiaowanzi", "external_userid": customer, "state": "tmall_card",
                     "welcome_code": "WELCOMECODE"}
    assert joined == {"chat_id": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", "update_detail": "add_member",
                      "join_scene": "3", "member": customer, "mem_change_cnt": "2"}
    assert left["quit_scene"] == "0" and removed["userid"] == "xiaowanzi"
    assert deleted["source"] == "DELETE_BY_TRANSFER"
    # the owner the WeCom channel sends from is the member who added the customer
    from siyu.db.engine import read
    from siyu.messaging import store as messaging_store

    with read(runtime.engine) as conn:
        assert messaging_store.wecom_owner(conn, workspace.id, timeline[0]["profile_id"]) == "xiaowanzi"
    group_events = [e for e in recorded if e.kind.startswith("chat_")]
    assert [(e.event_name, e.profile_id is None) for e in group_events] == [
        ("Group Created", True), ("Group Member Joined", False), ("Group Member Joined", True),
        ("Group Member Left", False)]
    assert group_events[1].fields["JoinScene"] == "3"


def test_pushes_reach_a_live_server_over_http(runtime: Runtime, workspace: Any, live_server: str) -> None:
    configure(runtime, workspace.id, wechat={"appid": "wx1f2e3d4c5b6a7980", "token": TOKEN,
                                             "encoding_aes_key": AES_KEY},
              wecom={"corpid": CORP, "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    with httpx.Client(base_url=live_server, timeout=10) as http:
        safe = platform(http, workspace.id, mode="safe")
        wecom = platform(http, workspace.id, "wecom")
        assert safe.verify("echo").text == "echo" and wecom.verify("echo").text == "echo"
        assert safe.push(safe.follow("oLive", scene="poster")).status_code == 200
        assert wecom.push(wecom.contact_added("xiaowanzi", "wmLiveCustomer01")).status_code == 200
        assert safe.resend().status_code == 200
        bearer = {"Authorization": f"Bearer {workspace.secret_key}"}
        found = http.get("/api/profiles/lookup", headers=bearer,
                         params={"type": "wechat_openid:wx1f2e3d4c5b6a7980", "value": "oLive"}).json()
        items = http.get(f"/api/profiles/{found['id']}/events", headers=bearer).json()["items"]
        assert [(e["name"], e["properties"]["scene"]) for e in items] == [("Followed", "poster")]
        assert http.get("/api/profiles/lookup", headers=bearer, params={
            "type": f"wecom_external_userid:{CORP}", "value": "wmLiveCustomer01"}).status_code == 200


def test_forged_stale_malformed_and_oversized_pushes_are_refused_with_stable_codes(
        runtime: Runtime, client: Any, workspace: Any, other_workspace: Any) -> None:
    configure(runtime, workspace.id, wecom={"corpid": CORP, "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    configure(runtime, other_workspace.id, wecom={"corpid": "wwOther", "callback_token": TOKEN,
                                                   "encoding_aes_key": AES_KEY})
    clock.freeze(NOON)
    wecom = platform(client, workspace.id, "wecom")
    fields = wecom.contact_added("zhangsan", "wmForged")
    query, body = wecom.signed(fields)
    path = f"/callbacks/wecom/{workspace.id}"

    def signed_as(token: str, corp: str, key: str) -> tuple[dict[str, str], bytes]:
        return FakeCallbacks(client, path, "wecom", token, corp, aes_key=key,
                             now=lambda: clock.now().timestamp()).signed(fields)

    forged = signed_as("guessed-token", CORP, AES_KEY)
    stale_query, stale_body = wecom.signed(fields, timestamp=int(NOON.timestamp()) - 301)
    future_query, future_body = wecom.signed(fields, timestamp=int(NOON.timestamp()) + 301)
    other_key, other_corp = signed_as(TOKEN, CORP, "B" * 43), signed_as(TOKEN, "wwOther", AES_KEY)
    cases: list[tuple[str, dict[str, str], bytes, int, str]] = [
        (path, forged[0], forged[1], 403, "callbacks.bad_signature"),
        (path, {**query, "msg_signature": "0" * 40}, body, 403, "callbacks.bad_signature"),
        (path, stale_query, stale_body, 403, "callbacks.bad_signature"),
        (path, future_query, future_body, 403, "callbacks.bad_signature"),
        (path, other_key[0], other_key[1], 400, "callbacks.undecryptable"),
        (path, other_corp[0], other_corp[1], 400, "callbacks.undecryptable"),
        (f"/callbacks/wecom/{other_workspace.id}", query, body, 400, "callbacks.undecryptable"),
        (f"/callbacks/wecom/{2**31 - 1}", query, body, 404, "callbacks.not_configured"),
        (f"/callbacks/wechat/{workspace.id}", query, body, 404, "receipts.not_configured"),
        (path, query, b"not xml", 400, "callbacks.invalid"),
        (path, query, b"<xml><ToUserName>x</ToUserName></xml>", 400, "callbacks.invalid"),
        (path, query, b"<xml>" + b"x" * 70_000 + b"</xml>", 413, "callbacks.too_large"),
    ]
    for target, params, content, status, code in cases:
        answer = client.post(target, params=params, content=content)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (target, answer.text)
    refused_get = client.get(path, params={**query, "echostr": "bm90IG91cnM="})
    assert (refused_get.status_code, refused_get.json()["error"]["code"]) == (403, "callbacks.bad_signature")
    # nothing of the refused pushes was stored: the genuine one is the customer's first event
    assert client.post(path, params=query, content=body).status_code == 200
    assert [e["name"] for e in events(client, workspace, f"wecom_external_userid:{CORP}", "wmForged")] == [
        "WeCom Contact Added"]


def test_hostile_xml_and_random_bytes_never_cause_a_server_error(runtime: Runtime, client: Any,
                                                                  workspace: Any) -> None:
    configure(runtime, workspace.id, wechat={"appid": "wx1f2e3d4c5b6a7980", "token": TOKEN,
                                             "encoding_aes_key": AES_KEY},
              wecom={"corpid": CORP, "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    clock.freeze(NOON)
    rng = secrets.SystemRandom()
    hostile = [
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>',
        '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]><xml><C>&b;</C></xml>',
        '<xml><MsgType>event</MsgType><FromUserName>o</FromUserName><Event>TEMPLATESENDJOBFINISH</Event></xml>',
        "<xml><Encrypt><![CDATA[%%%not-base64%%%]]></Encrypt></xml>", "<xml><Encrypt>QUJD</Encrypt></xml>",
        "<xml><Encrypt></Encrypt></xml>", "<xml><MsgType></MsgType></xml>", "<xml/>", "", "<",
        "<xml><MsgType>event</MsgType><FromUserName>sys</FromUserName><Event>change_external_chat</Event></xml>",
    ]
    for kind, mode in (("wechat", "plaintext"), ("wechat", "safe"), ("wecom", "safe")):
        fake = platform(client, workspace.id, kind, mode)
        for index in range(60):
            body = hostile[index % len(hostile)] if index < len(hostile) else bytes(
                rng.randrange(256) for _ in range(rng.randrange(1, 400))).decode("latin-1")
            query, _ = fake.signed({"FromUserName": "o", "MsgType": "text"})
            if "msg_signature" in query and body.startswith("<xml><Encrypt>"):
                encrypted = body.split("<Encrypt>", 1)[1].split("</Encrypt>", 1)[0].removeprefix(
                    "<![CDATA[").removesuffix("]]>")
                from siyu.callbacks.wire import signature

                query["msg_signature"] = signature(TOKEN, query["timestamp"], query["nonce"], encrypted)
            answer = client.post(fake.path, params=query, content=body.encode("utf-8", "replace"))
            assert answer.status_code < 500, (kind, mode, body[:80], answer.text)
            if answer.status_code >= 400:
                assert answer.json()["error"]["code"].split(".")[1] in (
                    "invalid", "undecryptable", "encrypted", "bad_signature", "too_large"), answer.text
        for query in ({}, {"timestamp": "x"}, {"timestamp": str(int(NOON.timestamp())), "echostr": "a" * 5000},
                      {"timestamp": str(int(NOON.timestamp())), "signature": "\u0000", "nonce": "\U0001f600"}):
            answer = client.get(fake.path, params=query)
            assert 400 <= answer.status_code < 500 and "error" in answer.json(), answer.text
