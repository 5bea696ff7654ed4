"""Tags: groups and edits, bulk tagging at scale (by filter, by list, by uploaded file), tenancy."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, profile_tags, tag_groups, tags
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.profiles import read_store
from siyu.runtime import Runtime
from siyu.workspaces.models import Role
from tests.api.test_error_shape import assert_envelope
from tests.profiles.test_api import role_key


def people(runtime: Runtime, workspace_id: int, count: int) -> None:
    """``count`` customers through the real pipeline: odd ones live in 上海, each has a phone."""
    messages = [parse_message({"type": "identify", "userId": f"u{i}", "messageId": f"m{i}", "traits": {
        "phone": f"139{i:08d}", "city": "上海" if i % 2 else "北京"}}, received_at=clock.now()) for i in range(count)]
    with write(runtime.engine) as conn:
        ingest(conn, workspace_id, messages, rules=DEFAULT_RULES)


def tagged(runtime: Runtime, workspace_id: int, tag_id: int) -> int:
    with read(runtime.engine) as conn:
        return conn.execute(select(func.count()).select_from(profile_tags).where(
            profile_tags.c.workspace_id == workspace_id, profile_tags.c.tag_id == tag_id)).scalar_one()


def history(runtime: Runtime, workspace_id: int, name: str) -> int:
    with read(runtime.engine) as conn:
        return conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace_id, events.c.name == name)).scalar_one()


def test_bulk_tagging_twelve_thousand_people_is_set_based_and_logged(client, runtime: Runtime, workspace) -> None:
    people(runtime, workspace.id, 12_000)
    headers = workspace.bearer()
    tag = client.post("/api/tags", json={"name": "全员"}, headers=headers).json()
    started = time.perf_counter()
    everyone = client.post(f"/api/tags/{tag['id']}/bulk", json={"action": "add", "filter": {}}, headers=headers)
    by_filter_seconds = time.perf_counter() - started
    assert everyone.json()["changed"] == 12_000 and tagged(runtime, workspace.id, tag["id"]) == 12_000
    assert history(runtime, workspace.id, "Tag Added") == 12_000
    listing = "\n".join(f"139{i:08d}" for i in range(0, 12_000, 1))
    started = time.perf_counter()
    removed = client.post(f"/api/tags/{tag['id']}/upload", params={"action": "remove", "type": "phone"},
                          content=listing.encode(), headers={**headers, "Content-Type": "text/plain"})
    by_list_seconds = time.perf_counter() - started
    assert removed.status_code == 200, removed.text
    assert (removed.json()["matched"], removed.json()["changed"]) == (12_000, 12_000)
    assert tagged(runtime, workspace.id, tag["id"]) == 0 and history(runtime, workspace.id, "Tag Removed") == 12_000
    # Generous bounds (a shared 2-core machine): one request per profile would take minutes.
    assert by_filter_seconds < 30 and by_list_seconds < 30


def test_an_uploaded_list_may_be_csv_or_gbk_and_bad_lines_are_refused(client, runtime: Runtime, workspace) -> None:
    people(runtime, workspace.id, 5)
    headers = {**workspace.bearer(), "Content-Type": "text/csv"}
    tag = client.post("/api/tags", json={"name": "回购"}, headers=workspace.bearer()).json()
    csv_body = "\ufefftype,value\nphone,139 0000 0001\nuser_id,u2\nemail,nobody@x.cn\nphone,12\n\n"
    result = client.post(f"/api/tags/{tag['id']}/upload", content=csv_body.encode(), headers=headers).json()
    assert (result["matched"], result["changed"], result["unknown"], result["invalid"]) == (2, 2, 1, 1)
    gbk_body = "类型,值\nuser_id,u3\n".encode("gbk")
    assert client.post(f"/api/tags/{tag['id']}/upload", content=gbk_body, headers=headers).json()["changed"] == 1
    assert tagged(runtime, workspace.id, tag["id"]) == 3
    bad = client.post(f"/api/tags/{tag['id']}/upload", content=b"13900000001\n", headers=headers)
    assert assert_envelope(bad, 400)["code"] == "tags.bad_list"
    assert_envelope(client.post(f"/api/tags/{tag['id']}/upload", content=b"\xff\xfe\x00\x00", headers=headers), 400)


def test_tag_groups_and_tag_edits(client, runtime: Runtime, workspace) -> None:
    headers = workspace.bearer()
    group = client.post("/api/tag-groups", json={"name": "肤质", "kind": "identity"}, headers=headers)
    assert group.status_code == 201 and group.json()["kind"] == "identity"
    assert assert_envelope(client.post("/api/tag-groups", json={"name": "肤质"}, headers=headers), 409)[
        "code"] == "tags.group_exists"
    oily = client.post("/api/tags", json={"name": "油皮", "group": "肤质"}, headers=headers).json()
    client.post("/api/tags", json={"name": "干皮"}, headers=headers)
    renamed = client.patch(f"/api/tags/{oily['id']}", json={"name": "油性肌肤", "description": "T 区出油"},
                           headers=headers).json()
    assert (renamed["name"], renamed["group"], renamed["description"]) == ("油性肌肤", "肤质", "T 区出油")
    clash = client.patch(f"/api/tags/{oily['id']}", json={"name": "干皮"}, headers=headers)
    assert assert_envelope(clash, 409)["code"] == "tags.exists"
    assert [(g["name"], g["tags"]) for g in client.get("/api/tag-groups", headers=headers).json()] == [("肤质", 1)]
    assert client.delete(f"/api/tag-groups/{group.json()['id']}", headers=headers).status_code == 204
    with read(runtime.engine) as conn:
        assert conn.execute(select(tags.c.group_id).where(tags.c.id == oily["id"])).scalar_one() is None
        assert conn.execute(select(func.count()).select_from(tag_groups).where(
            tag_groups.c.workspace_id == workspace.id)).scalar_one() == 0
    moved = client.patch(f"/api/tags/{oily['id']}", json={"group": "皮肤", "kind": "identity"}, headers=headers)
    assert (moved.json()["group"], moved.json()["kind"]) == ("皮肤", "identity")
    staff = role_key(runtime, workspace, Role.STAFF)
    assert_envelope(client.post("/api/tag-groups", json={"name": "x"}, headers=staff), 403)
    assert_envelope(client.patch(f"/api/tags/{oily['id']}", json={"name": "y"}, headers=staff), 403)


def test_another_workspace_cannot_touch_these_tags_or_groups(client, runtime: Runtime, workspace,
                                                             other_workspace) -> None:
    people(runtime, workspace.id, 2)
    mine = workspace.bearer()
    tag = client.post("/api/tags", json={"name": "mine", "group": "g"}, headers=mine).json()
    group_id = client.get("/api/tag-groups", headers=mine).json()[0]["id"]
    theirs = other_workspace.bearer()
    assert_envelope(client.patch(f"/api/tags/{tag['id']}", json={"name": "stolen"}, headers=theirs), 404)
    assert_envelope(client.delete(f"/api/tag-groups/{group_id}", headers=theirs), 404)
    upload = client.post(f"/api/tags/{tag['id']}/upload", params={"type": "user_id"}, content=b"u1\n",
                         headers={**theirs, "Content-Type": "text/plain"})
    assert_envelope(upload, 404)
    assert client.get("/api/tag-groups", headers=theirs).json() == []
    assert [t["name"] for t in client.get("/api/tags", headers=mine).json()] == ["mine"]
    assert tagged(runtime, workspace.id, tag["id"]) == 0


def test_the_timeline_shows_tag_and_consent_changes_newest_first(client, runtime: Runtime, workspace) -> None:
    people(runtime, workspace.id, 1)
    headers = workspace.bearer()
    profile_id = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "u0"},
                            headers=headers).json()["id"]
    client.post("/api/tags", json={"name": "VIP"}, headers=headers)
    clock.freeze(clock.now())
    client.post(f"/api/profiles/{profile_id}/tags", json={"add": ["VIP"]}, headers=headers)
    clock.advance(timedelta(seconds=1))
    client.put(f"/api/profiles/{profile_id}/consent", json={"channel": "wecom", "purpose": "marketing",
                                                            "status": "granted"}, headers=headers)
    with read(runtime.engine) as conn:
        timeline = read_store.profile_timeline(conn, workspace.id, profile_id)
    assert [e["name"] for e in timeline][:2] == ["Consent Changed", "Tag Added"]
    assert timeline[1]["properties"]["tag"] == "VIP" and timeline[1]["properties"]["source"] == "manual"
