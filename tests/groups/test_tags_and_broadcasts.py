"""Group tags, the group list's filters, and broadcasts to groups through WeCom's group tasks,
on SQLite and PostgreSQL."""

from __future__ import annotations

from siyu.channels.fakes.wecom import FakeWeCom
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from tests.groups.scene import T0, configure, member, push

TEXT = {"text": {"content": "今晚8点直播，新品口红抢先看"}}


def three_groups(runtime: Runtime, workspace, fake: FakeWeCom) -> None:  # noqa: ANN001
    fake.set_group_chat("wrSh1", name="上海福利1群", owner="zhangsan",
                        members=[member(f"wmA{i}", T0) for i in range(3)])
    fake.set_group_chat("wrSh2", name="上海福利2群", owner="zhangsan", members=[member("wmB", T0)])
    fake.set_group_chat("wrBj1", name="北京福利群", owner="lisi", members=[member("wmC", T0)])
    for chat in ("wrSh1", "wrSh2", "wrBj1"):
        push(runtime, workspace.id, "chat_create", chat)
    run_due(runtime)


def ids(client, workspace) -> dict[str, int]:  # noqa: ANN001
    return {g["chat_id"]: g["id"] for g in client.get("/api/groups", headers=workspace.bearer()).json()}


def test_tags_on_groups_filter_the_list(runtime: Runtime, workspace, client, fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    three_groups(runtime, workspace, fake)
    groups = ids(client, workspace)
    auth = workspace.bearer()
    shanghai = client.post("/api/groups/tags", json={"tag_group": "城市", "name": "上海"}, headers=auth)
    assert shanghai.status_code == 201
    again = client.post("/api/groups/tags", json={"tag_group": "城市", "name": "上海"}, headers=auth)
    assert again.status_code == 200 and again.json()["id"] == shanghai.json()["id"]
    vip = client.post("/api/groups/tags", json={"tag_group": "类型", "name": "福利群"}, headers=auth).json()
    tagged = client.post(f"/api/groups/tags/{shanghai.json()['id']}/groups",
                         json={"group_ids": [groups["wrSh1"], groups["wrSh2"]]}, headers=auth)
    assert tagged.json() == {"tagged": 2}
    client.post(f"/api/groups/tags/{vip['id']}/groups", json={"group_ids": list(groups.values())}, headers=auth)

    both = client.get("/api/groups", params={"tag_id": [shanghai.json()["id"], vip["id"]]}, headers=auth).json()
    assert sorted(g["chat_id"] for g in both) == ["wrSh1", "wrSh2"]
    assert [t["name"] for t in both[0]["tags"]] == ["上海", "福利群"]
    big = client.get("/api/groups", params={"min_members": 2}, headers=auth).json()
    assert [g["chat_id"] for g in big] == ["wrSh1"]
    by_owner = client.get("/api/groups", params={"owner": "lisi", "q": "北京"}, headers=auth).json()
    assert [g["chat_id"] for g in by_owner] == ["wrBj1"]
    counts = {t["name"]: t["groups"] for t in client.get("/api/groups/tags", headers=auth).json()}
    assert counts == {"上海": 2, "福利群": 3}

    removed = client.post(f"/api/groups/tags/{shanghai.json()['id']}/remove", json={"group_ids": [groups["wrSh2"]]},
                          headers=auth)
    assert removed.json() == {"untagged": 1}
    assert client.delete(f"/api/groups/tags/{vip['id']}", headers=auth).status_code == 204
    missing = client.post(f"/api/groups/tags/{vip['id']}/groups", json={"group_ids": [1]}, headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "groups.not_found"
    bad = client.post("/api/groups/tags", json={"tag_group": "", "name": "x"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "request.invalid"


def test_a_broadcast_is_one_group_task_per_owner_and_keeps_to_the_limit(runtime: Runtime, workspace, client,
                                                                        fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake, wecom_limit="day")
    three_groups(runtime, workspace, fake)
    groups = ids(client, workspace)
    auth = workspace.bearer()
    body = {"name": "直播预告", "content": TEXT, "group_ids": list(groups.values()), "idempotency_key": "live-1"}
    created = client.post("/api/groups/broadcasts", json=body, headers=auth)
    assert created.status_code == 201, created.text
    found = created.json()
    assert found["groups_chosen"] == 3 and found["groups_skipped"] == []
    assert sorted((t["sender"], sorted(t["chat_ids"]), t["status"]) for t in found["tasks"]) == [
        ("lisi", ["wrBj1"], "queued"), ("zhangsan", ["wrSh1", "wrSh2"], "queued")]
    assert fake.group_tasks == []  # written first; nothing sent by the request

    repeat = client.post("/api/groups/broadcasts", json=body, headers=auth)
    assert repeat.status_code == 200 and repeat.json()["id"] == found["id"]
    changed = client.post("/api/groups/broadcasts", json={**body, "name": "别的"}, headers=auth)
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "groups.conflict"

    assert run_due(runtime).get("broadcast_sent") == 2
    sent = sorted(fake.group_tasks, key=lambda t: t.sender)
    assert [(t.sender, sorted(t.chat_ids), t.body["chat_type"], t.body["text"]) for t in sent] == [
        ("lisi", ["wrBj1"], "group", TEXT["text"]), ("zhangsan", ["wrSh1", "wrSh2"], "group", TEXT["text"])]
    detail = client.get(f"/api/groups/broadcasts/{found['id']}", headers=auth).json()
    assert {t["status"] for t in detail["tasks"]} == {"sent"} and all(t["msgid"] for t in detail["tasks"])

    # The corp allows one a day: a second broadcast today reaches no group that had one.
    second = client.post("/api/groups/broadcasts", json={**body, "idempotency_key": "live-2"}, headers=auth).json()
    assert second["groups_chosen"] == 0 and second["tasks"] == []
    assert sorted(s["reason"] for s in second["groups_skipped"]) == ["groups.at_limit"] * 3
    assert len(client.get("/api/groups/broadcasts", headers=auth).json()) == 2


def test_bad_broadcasts_are_refused_with_the_field(runtime: Runtime, workspace, client,
                                                   fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    three_groups(runtime, workspace, fake)
    group_id = next(iter(ids(client, workspace).values()))
    auth = workspace.bearer()
    empty = client.post("/api/groups/broadcasts", json={"name": "x", "content": {}, "group_ids": [group_id],
                                                        "idempotency_key": "k"}, headers=auth)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "groups.invalid_content"
    assert empty.json()["error"]["details"]["field"] == "content.text"
    unknown = client.post("/api/groups/broadcasts", json={"name": "x", "content": TEXT, "group_ids": [2**40],
                                                          "idempotency_key": "k2"}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "groups.not_found"


def test_a_refused_task_fails_with_the_reason_and_is_not_retried(runtime: Runtime, workspace, client,
                                                                 fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    three_groups(runtime, workspace, fake)
    group_id = ids(client, workspace)["wrBj1"]
    auth = workspace.bearer()
    made = client.post("/api/groups/broadcasts", json={"name": "x", "content": TEXT, "group_ids": [group_id],
                                                       "idempotency_key": "refused"}, headers=auth).json()
    fake.fail_next(48002)  # the app may not call this API
    run_due(runtime)
    task = client.get(f"/api/groups/broadcasts/{made['id']}", headers=auth).json()["tasks"][0]
    assert (task["status"], task["reason"]) == ("failed", "wecom.no_permission")
    run_due(runtime)
    assert fake.group_tasks == []
