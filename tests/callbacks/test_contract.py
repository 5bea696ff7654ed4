"""The issue's interface contract: `siyu channels add wecom|wechat-oa … --json` (and `POST /api/channels`)
answer `{"channel_id", "callback_path"}`; the platform calls that path; an inbound text message becomes
`Message Received` with `properties.content` and `properties.msg_id` on the profile of the sender's
identity — `wecom_user:<corp>` for a WeCom member, `wecom_external_userid:<corp>` for an external contact,
`wechat_openid:<app id>` for a follower — visible through `/api/profiles/lookup` and `/events`."""

from __future__ import annotations

import json
from typing import Any

from siyu import clock
from siyu.channels.fakes.callbacks import FakeCallbacks
from siyu.runtime import Runtime
from tests.callbacks.test_endpoints import AES_KEY, CORP, NOON, events
from tests.profiles.test_cli import siyu

APPID = "wx1f2e3d4c5b6a7980"
TOKEN = "siyuToken2026"  # letters and digits, 3-32: what both consoles accept


def pusher(client: Any, path: str, kind: str, receive_id: str, mode: str = "safe") -> FakeCallbacks:
    return FakeCallbacks(client, path, kind, TOKEN, receive_id, aes_key=AES_KEY, mode=mode,
                         now=lambda: clock.now().timestamp())


def test_channels_added_from_the_cli_receive_text_messages_on_the_right_identities(
        runtime: Runtime, database_url: str, client: Any, workspace: Any) -> None:
    added = siyu(database_url, "channels", "add", "wecom", "--workspace", workspace.name, "--corp-id", CORP,
                 "--token", TOKEN, "--aes-key", AES_KEY, "--json")
    assert added.returncode == 0, added.stderr
    wecom = json.loads(added.stdout)
    assert wecom == {"channel_id": f"wecom:{CORP}", "callback_path": f"/callbacks/wecom/{workspace.id}"}
    added = siyu(database_url, "channels", "add", "wechat-oa", "--workspace", workspace.name, "--app-id", APPID,
                 "--token", TOKEN, "--aes-key", AES_KEY, "--json")
    assert added.returncode == 0, added.stderr
    oa = json.loads(added.stdout)
    assert oa == {"channel_id": f"wechat-oa:{APPID}", "callback_path": f"/callbacks/wechat/{workspace.id}"}

    clock.freeze(NOON)
    corp = pusher(client, wecom["callback_path"], "wecom", CORP)
    assert corp.verify().status_code == 200  # the console's URL check
    for sender, content in (("zhangsan", "今天的SOP收到"), ("wmCustomer01", "请问有小样吗")):
        pushed = corp.push({"ToUserName": CORP, "FromUserName": sender, "CreateTime": int(clock.now().timestamp()),
                            "MsgType": "text", "Content": content, "MsgId": f"7{len(sender)}01", "AgentID": 1000002})
        assert pushed.status_code == 200, pushed.text
    account = pusher(client, oa["callback_path"], "wechat", APPID)
    assert account.push(account.text("oFollower01", "口红色号")).status_code == 200

    for (type_, value), content in (((f"wecom_user:{CORP}", "zhangsan"), "今天的SOP收到"),
                                    ((f"wecom_external_userid:{CORP}", "wmCustomer01"), "请问有小样吗"),
                                    ((f"wechat_openid:{APPID}", "oFollower01"), "口红色号")):
        [received] = [e for e in events(client, workspace, type_, value) if e["name"] == "Message Received"]
        assert received["properties"]["content"] == content and received["properties"]["msg_id"]

    listed = client.get("/api/channels", headers=workspace.bearer()).json()
    assert {(c["channel_id"], c["callback_path"], c["encrypted"], c["sends"]) for c in listed} == {
        (f"wecom:{CORP}", f"/callbacks/wecom/{workspace.id}", True, False),
        (f"wechat-oa:{APPID}", f"/callbacks/wechat/{workspace.id}", True, False)}
    settings = client.get("/api/workspace/settings", headers=workspace.bearer()).json()["settings"]
    assert settings["channels"]["wecom"]["callback_token"] == "********"  # secrets never come back


def test_the_api_refuses_what_the_platform_console_would(client: Any, workspace: Any) -> None:
    def refused(body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post("/api/channels", json=body, headers=workspace.bearer())
        assert answer.status_code == 422, answer.text
        return answer.json()["error"]

    base = {"kind": "wecom", "corp_id": CORP, "token": TOKEN, "aes_key": AES_KEY}
    assert refused({**base, "token": "a b"})["details"]["field"] == "token"
    assert refused({**base, "aes_key": "short"})["details"]["field"] == "aes_key"
    assert refused({**base, "aes_key": None})["details"]["field"] == "aes_key"  # WeCom is always encrypted
    assert refused({**base, "kind": "fax"})["details"]["field"] == "kind"
    assert refused({**base, "corp_id": ""})["details"]["field"] == "corp_id"
    answer = client.post("/api/channels", json={"kind": "wechat-oa", "app_id": APPID, "token": TOKEN,
                                                "secret": "app-secret"}, headers=workspace.bearer())
    assert answer.status_code == 201 and answer.json()["callback_path"] == f"/callbacks/wechat/{workspace.id}"
    [listed] = client.get("/api/channels", headers=workspace.bearer()).json()
    assert (listed["encrypted"], listed["sends"]) == (False, True)


def test_a_cli_mistake_exits_2_with_a_message(database_url: str, workspace: Any) -> None:
    answer = siyu(database_url, "channels", "add", "wecom", "--workspace", workspace.name, "--corp-id", CORP,
                  "--token", TOKEN)
    assert answer.returncode == 2 and "EncodingAESKey" in answer.stderr + answer.stdout
