"""Groups and members kept from WeCom's group-chat change events, on SQLite and PostgreSQL.

The change events are dispatched through siyu.callbacks.hooks.dispatch (tests/groups/scene.py), as
the callback endpoint does after ingesting a push; the worker's step then fetches groupchat/get from
the fake WeCom with wechatpy, as it would from WeCom."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from siyu.channels.fakes.wecom import FakeWeCom
from siyu.db.engine import read, write
from siyu.groups import store
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from tests.groups.scene import CORP, T0, configure, member, push


def lookup(client, workspace, external_userid: str) -> int:  # noqa: ANN001
    found = client.get("/api/profiles/lookup", params={"type": f"wecom_external_userid:{CORP}",
                                                       "value": external_userid}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return found.json()["id"]


def only_group(client, workspace) -> dict:  # noqa: ANN001
    listed = client.get("/api/groups", headers=workspace.bearer()).json()
    assert len(listed) == 1
    return listed[0]


def test_a_created_group_is_fetched_by_the_worker_never_inside_the_callback(
        runtime: Runtime, workspace, client, fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    fake.set_group_chat("wrFans1", name="小完子福利群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True),
        member("wmLina", T0 + 60, invitor="xiaowanzi", unionid="oUnionLina", name="李娜"),
        member("wmWei", T0 + 120, scene=3)])
    outcome = push(runtime, workspace.id, "chat_create", "wrFans1")
    assert fake.token_fetches == [] and outcome.notes["groups.sync_requested"]  # no WeCom call in the callback
    group = only_group(client, workspace)
    assert group["name"] is None and group["sync_due_at"] is not None

    assert run_due(runtime)["synced"] >= 1
    group = only_group(client, workspace)
    assert (group["name"], group["owner_userid"], group["member_count"], group["sync_due_at"]) == (
        "小完子福利群", "xiaowanzi", 3, None)
    members = client.get(f"/api/groups/{group['id']}/members", headers=workspace.bearer()).json()
    by_id = {m["userid"]: m for m in members}
    assert by_id["xiaowanzi"]["member_type"] == "staff" and by_id["xiaowanzi"]["profile_id"] is None
    assert by_id["xiaowanzi"]["invites"] == 1  # invited 李娜
    lina = by_id["wmLina"]
    assert (lina["join_scene"], lina["invitor_userid"], lina["name"], lina["unionid"]) == (
        "qr", "xiaowanzi", "李娜", "oUnionLina")
    assert lina["profile_id"] == lookup(client, workspace, "wmLina")  # the person, through identity
    by_union = client.get("/api/profiles/lookup", params={"type": "wechat_unionid", "value": "oUnionLina"},
                          headers=workspace.bearer()).json()
    assert by_union["id"] == lina["profile_id"]

    assert run_due(runtime)["synced"] == 0  # nothing due: in step with WeCom


def test_members_join_leave_and_come_back_with_reasons_and_a_dismissal_ends_everything(
        runtime: Runtime, workspace, client, fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    chat = "wrFans2"
    fake.set_group_chat(chat, name="新品体验群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True), member("wmLina", T0 + 60)])
    push(runtime, workspace.id, "chat_create", chat)
    run_due(runtime)
    group_id = only_group(client, workspace)["id"]
    lina = lookup(client, workspace, "wmLina")

    fake.set_group_chat(chat, name="新品体验群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True), member("wmLina", T0 + 60),
        member("wmWei", T0 + 600, scene=1, invitor="xiaowanzi")])
    push(runtime, workspace.id, "chat_update", chat, UpdateDetail="add_member", JoinScene="0", MemChangeCnt="1",
         MemChangeList="wmWei")
    run_due(runtime)
    assert only_group(client, workspace)["member_count"] == 3

    # Removed by the owner: the stint ends at once, with the reason only the event carries.
    push(runtime, workspace.id, "chat_update", chat, UpdateDetail="del_member", QuitScene="1", MemChangeCnt="1",
         MemChangeList="wmLina")
    assert only_group(client, workspace)["member_count"] == 2  # before any worker pass
    fake.set_group_chat(chat, name="新品体验群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True), member("wmWei", T0 + 600, scene=1, invitor="xiaowanzi")])
    run_due(runtime)
    past = client.get(f"/api/groups/{group_id}/members", params={"include_past": "true"},
                      headers=workspace.bearer()).json()
    lina_stints = [m for m in past if m["userid"] == "wmLina"]
    assert [(m["quit_scene"], m["quit_at"] is not None) for m in lina_stints] == [("removed", True)]

    # 李娜 comes back (by QR); a sync that missed the event still sees a new stint.
    fake.set_group_chat(chat, name="新品体验群", owner="xiaowanzi", members=[
        member("xiaowanzi", T0, scene=1, staff=True), member("wmWei", T0 + 600, scene=1, invitor="xiaowanzi"),
        member("wmLina", T0 + 9000, scene=3)])
    client.post(f"/api/groups/{group_id}/sync", headers=workspace.bearer())
    run_due(runtime)
    mine = client.get(f"/api/profiles/{lina}/groups", headers=workspace.bearer()).json()
    assert [(g["group_id"], g["quit_scene"]) for g in mine] == [(group_id, None), (group_id, "removed")]

    push(runtime, workspace.id, "chat_dismiss", chat)
    group = only_group(client, workspace)
    assert (group["status"], group["member_count"], group["sync_due_at"]) == ("dismissed", 0, None)
    now_members = client.get(f"/api/groups/{group_id}/members", headers=workspace.bearer()).json()
    assert now_members == []
    events = client.get(f"/api/profiles/{lina}/events", headers=workspace.bearer()).json()
    left = [e for e in events["items"] if e["name"] == "Group Member Left"]
    assert [e["properties"]["quit_scene"] for e in left] == ["dismissed"]


def test_a_change_during_a_sync_is_synced_again_not_lost(runtime: Runtime, workspace, fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    fake.set_group_chat("wrRace", name="旧名", owner="xiaowanzi", members=[member("wmA", T0)])
    push(runtime, workspace.id, "chat_create", "wrRace")
    with write(runtime.engine) as conn:
        claimed = [(g, lease) for g, lease in store.claim_due_syncs(conn, clock.now(), 100, timedelta(minutes=2))
                   if g.workspace_id == workspace.id]
    # A rename arrives while the worker holds the lease and before it applies what it fetched.
    push(runtime, workspace.id, "chat_update", "wrRace", UpdateDetail="change_name")
    from siyu.groups.sync import apply_detail, fetch_detail, wecom_for
    from siyu.identity.rules import IdentityRules

    with read(runtime.engine) as conn:
        from siyu.workspaces import store as workspace_store

        settings = workspace_store.get_workspace(conn, workspace.id).settings
    answer = fetch_detail(wecom_for(settings), "wrRace")
    (group, lease), = claimed
    with write(runtime.engine) as conn:
        apply_detail(conn, group, answer, lease, clock.now(), IdentityRules.from_settings(settings), "CN")
        assert store.get_group(conn, workspace.id, group.id).sync_due_at is not None  # still due
    fake.set_group_chat("wrRace", name="新名", owner="xiaowanzi", members=[member("wmA", T0)])
    run_due(runtime)
    with read(runtime.engine) as conn:
        after = store.get_group(conn, workspace.id, group.id)
    assert (after.name, after.sync_due_at) == ("新名", None)


def test_a_failed_fetch_is_retried_later_with_the_error_kept(runtime: Runtime, workspace, client,
                                                             fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    fake.set_group_chat("wrBusy", name="群", owner="xiaowanzi", members=[])
    push(runtime, workspace.id, "chat_create", "wrBusy")
    fake.fail_next(45009)  # API frequency
    run_due(runtime)
    group = only_group(client, workspace)
    assert group["sync_error"].startswith("wecom.rate_limited") and group["name"] is None
    assert run_due(runtime)["synced"] == 0 or only_group(client, workspace)["name"] is None  # not due yet
    clock.freeze(clock.now() + timedelta(minutes=2))
    run_due(runtime)
    group = only_group(client, workspace)
    assert (group["name"], group["sync_error"]) == ("群", None)


def test_another_workspace_sees_none_of_it(runtime: Runtime, workspace, other_workspace, client,
                                           fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    fake.set_group_chat("wrMine", name="我的群", owner="xiaowanzi", members=[member("wmA", T0)])
    push(runtime, workspace.id, "chat_create", "wrMine")
    run_due(runtime)
    group_id = only_group(client, workspace)["id"]
    other = other_workspace.bearer()
    assert client.get("/api/groups", headers=other).json() == []
    for path in (f"/api/groups/{group_id}", f"/api/groups/{group_id}/members"):
        answer = client.get(path, headers=other)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "groups.not_found"
    assert client.post(f"/api/groups/{group_id}/sync", headers=other).status_code == 404
