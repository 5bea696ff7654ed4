"""The wire format: the sample WeCom publishes for its callback encryption decrypts, through the
pure functions and through the endpoint; pushes map to siyu events and dedupe keys as specified."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from siyu import clock
from siyu.callbacks import wire
from siyu.callbacks.errors import CallbackError
from siyu.callbacks.hooks import Reply
from siyu.callbacks.pushes import pushes_of
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

# The sample of WeCom's documentation, 加解密方案说明 → 举例说明 (developer.work.weixin.qq.com/document/path/91144,
# also in the Sample files of its WXBizMsgCrypt libraries), verbatim.
SAMPLE_CORP_ID = "wx5823bf96d3bd56c7"
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_VERIFY = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
                 "nonce": "263014780",
                 "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="}
SAMPLE_PUSH = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
               "nonce": "1372623149"}
SAMPLE_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdv"
    "o+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wi"
    "SpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ"
    "3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx"
    "4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+"
    "E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")
SAMPLE = wire.Endpoint("wecom", SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_CORP_ID)
AT = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


def test_the_wecom_documentation_sample_verifies_and_decrypts() -> None:
    wire.check_signature(SAMPLE, SAMPLE_VERIFY["msg_signature"], SAMPLE_VERIFY["timestamp"], SAMPLE_VERIFY["nonce"],
                         SAMPLE_VERIFY["echostr"])
    assert wire.decrypt(SAMPLE, SAMPLE_VERIFY["echostr"]) == "1616140317555161061"
    fields = wire.fields_of("wecom", SAMPLE_BODY.encode())
    wire.check_signature(SAMPLE, SAMPLE_PUSH["msg_signature"], SAMPLE_PUSH["timestamp"], SAMPLE_PUSH["nonce"],
                         fields["Encrypt"])
    message = wire.fields_of("wecom", wire.decrypt(SAMPLE, fields["Encrypt"]).encode())
    assert message == {"ToUserName": "wx5823bf96d3bd56c7", "FromUserName": "mycreate", "CreateTime": "1409659813",
                       "MsgType": "text", "Content": "hello", "MsgId": "4561255354251345929", "AgentID": "218"}
    with pytest.raises(CallbackError) as refused:  # the same ciphertext for another corp
        wire.decrypt(wire.Endpoint("wecom", SAMPLE_TOKEN, SAMPLE_AES_KEY, "wwSomeoneElse"), fields["Encrypt"])
    assert refused.value.code == "callbacks.undecryptable"
    with pytest.raises(CallbackError) as forged:
        wire.check_signature(SAMPLE, SAMPLE_PUSH["msg_signature"], "1409659814", SAMPLE_PUSH["nonce"],
                             fields["Encrypt"])
    assert (forged.value.code, forged.value.status) == ("callbacks.bad_signature", 403)


def test_the_wecom_documentation_sample_through_the_endpoint(runtime: Runtime, client: Any, workspace: Any) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {"channels": {"wecom": {
            "corpid": SAMPLE_CORP_ID, "callback_token": SAMPLE_TOKEN, "encoding_aes_key": SAMPLE_AES_KEY}}})
    clock.freeze(datetime.fromtimestamp(1409659813 + 30, UTC))  # the sample's own time, 30 s later
    path = f"/callbacks/wecom/{workspace.id}"
    assert client.get(path, params=SAMPLE_VERIFY).text == "1616140317555161061"
    answer = client.post(path, params=SAMPLE_PUSH, content=SAMPLE_BODY.encode())
    assert (answer.status_code, answer.text) == (200, "")
    again = client.post(path, params=SAMPLE_PUSH, content=SAMPLE_BODY.encode())  # a retry: stored once
    assert again.status_code == 200
    clock.freeze(datetime.fromtimestamp(1409659813 + 3600, UTC))  # an hour later the same request is a replay
    replay = client.post(path, params=SAMPLE_PUSH, content=SAMPLE_BODY.encode())
    assert (replay.status_code, replay.json()["error"]["code"]) == (403, "callbacks.bad_signature")


def fields(**values: str) -> dict[str, str]:
    return {"ToUserName": "gh_1", "FromUserName": "oA", "CreateTime": str(int(AT.timestamp())), **values}


@pytest.mark.parametrize(("push", "kind", "name", "properties"), [
    (fields(MsgType="event", Event="subscribe", EventKey="qrscene_card_7", Ticket="T"), "subscribe", "Followed",
     {"scene": "card_7", "ticket": "T"}),
    (fields(MsgType="event", Event="subscribe", EventKey=""), "subscribe", "Followed", {}),
    (fields(MsgType="event", Event="SCAN", EventKey="card_7", Ticket="T"), "scan", "QR Scanned",
     {"scene": "card_7", "ticket": "T"}),
    (fields(MsgType="event", Event="unsubscribe"), "unsubscribe", "Unfollowed", {}),
    (fields(MsgType="event", Event="CLICK", EventKey="GIFT"), "click", "Menu Clicked", {"key": "GIFT"}),
    (fields(MsgType="event", Event="TEMPLATESENDJOBFINISH", MsgID="200163836", Status="success"),
     "templatesendjobfinish", "Template Message Finished", {"msg_id": "200163836", "status": "success"}),
    (fields(MsgType="voice", MsgId="1", MediaId="m", Format="amr", Recognition="你好"), "voice",
     "Message Received", {"msg_type": "voice", "msg_id": "1", "content": "你好", "media_id": "m", "format": "amr"}),
    (fields(MsgType="link", MsgId="2", Title="t", Description="d", Url="https://x.cn"), "link", "Message Received",
     {"msg_type": "link", "msg_id": "2", "content": "https://x.cn", "title": "t", "description": "d"}),
])
def test_official_account_pushes_map_to_siyu_events(push: dict[str, str], kind: str, name: str,
                                                     properties: dict[str, str]) -> None:
    [event] = pushes_of("wechat", "wxAPP", push, AT)
    assert (event.kind, event.name, event.properties) == (kind, name, properties)
    assert event.external_ids == (("wechat_openid:wxAPP", "oA"),) and event.at == AT


def test_dedupe_keys_follow_the_platforms_advice() -> None:
    text = pushes_of("wechat", "wxAPP", fields(MsgType="text", MsgId="42", Content="a"), AT)[0]
    later = pushes_of("wechat", "wxAPP", fields(MsgType="text", MsgId="42", Content="a", CreateTime="9"), AT)[0]
    assert text.message_id == later.message_id == "wechat:wxAPP:msg:42"
    follow = pushes_of("wechat", "wxAPP", fields(MsgType="event", Event="subscribe"), AT)[0]
    assert follow.message_id == f"wechat:wxAPP:oA:{int(AT.timestamp())}:subscribe"
    # WeCom's FromUserName is always "sys": two customers added in the same second stay apart
    first, second = (pushes_of("wecom", "ww1", fields(FromUserName="sys", MsgType="event",
                                                       Event="change_external_contact",
                                                       ChangeType="add_external_contact", UserID="u1",
                                                       ExternalUserID=external), AT)[0]
                     for external in ("wmA", "wmB"))
    assert first.message_id != second.message_id
    long_key = pushes_of("wecom", "ww1", fields(FromUserName="sys", MsgType="event", Event="change_external_chat",
                                                ChangeType="update", ChatId="c" * 300), AT)[0]
    assert len(long_key.message_id) <= 128


def test_a_create_time_far_from_now_is_not_taken_as_the_events_time() -> None:
    [event] = pushes_of("wechat", "wxAPP", fields(MsgType="event", Event="subscribe", CreateTime="1"), AT)
    assert event.at == AT


def test_passive_replies_escape_cdata_and_render_each_kind() -> None:
    text = wire.reply_xml("oA", "gh_1", Reply("text", content="a]]>b"), 1)
    assert wire.fields_of("wechat", text.encode())["Content"] == "a]]>b"
    image = wire.reply_xml("oA", "gh_1", Reply("image", media_id="M1"), 1)
    assert "<Image><MediaId><![CDATA[M1]]></MediaId></Image>" in image
    news = wire.reply_xml("oA", "gh_1", Reply("news", title="T", content="D", url="https://u", pic_url="https://p"), 1)
    assert "<ArticleCount>1</ArticleCount>" in news and "<Url><![CDATA[https://u]]></Url>" in news
