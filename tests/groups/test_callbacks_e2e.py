"""Through the real callback endpoint: WeCom's encrypted group-chat pushes (built and signed by
siyu/channels/fakes/callbacks.py) reach /callbacks/wecom/{workspace}, the groups handlers mark the
group, and the worker fetches it from the fake WeCom — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from siyu import clock
from siyu.channels.fakes.callbacks import FakeCallbacks
from siyu.channels.fakes.wecom import FakeWeCom
from siyu.db.engine import write
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.groups.scene import CORP, SECRET, T0, member

TOKEN = "groups-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_group_pushes_over_the_wire_keep_groups_and_members(runtime: Runtime, workspace: Any, client: Any,
                                                           fake: FakeWeCom) -> None:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {"channels": {"wecom": {
            "corpid": CORP, "secret": SECRET, "base_url": fake.url, "callback_token": TOKEN,
            "encoding_aes_key": AES_KEY}}})
    wecom = FakeCallbacks(client, f"/callbacks/wecom/{workspace.id}", "wecom", TOKEN, CORP, aes_key=AES_KEY,
                          now=lambda: clock.now().timestamp())
    chat = "wrWireGroup01"
    fake.set_group_chat(chat, name="包裹卡福利群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True), member("wmWireLina", T0 + 1, invitor="xiaowanzi")])
    answer = wecom.push(wecom.chat("create", chat))
    assert (answer.status_code, answer.text) == (200, ""), answer.text
    assert fake.token_fetches == []  # the callback answered without calling WeCom
    run_due(runtime)
    (group,) = client.get("/api/groups", headers=workspace.bearer()).json()
    assert (group["name"], group["member_count"]) == ("包裹卡福利群", 2)

    fake.set_group_chat(chat, name="包裹卡福利群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True), member("wmWireLina", T0 + 1, invitor="xiaowanzi"),
        member("wmWireWei", T0 + 2, scene=3)])
    wecom.push(wecom.chat("update", chat, detail="add_member", JoinScene=3, members=["wmWireWei"]))
    run_due(runtime)
    assert client.get(f"/api/groups/{group['id']}", headers=workspace.bearer()).json()["member_count"] == 3

    wecom.push(wecom.chat("update", chat, detail="del_member", QuitScene=1, members=["wmWireLina", "wmWireWei"]))
    past = client.get(f"/api/groups/{group['id']}/members", params={"include_past": "true"},
                      headers=workspace.bearer()).json()
    assert sorted((m["userid"], m["quit_scene"]) for m in past) == [
        ("wmWireLina", "removed"), ("wmWireWei", "removed"), ("xiaowanzi", None)]

    wecom.push(wecom.chat("dismiss", chat))
    assert client.get(f"/api/groups/{group['id']}", headers=workspace.bearer()).json()["status"] == "dismissed"
    retry = wecom.resend()  # WeCom retries: the handlers do not run twice
    assert retry.status_code == 200
