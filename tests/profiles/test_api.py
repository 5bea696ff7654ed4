"""The profiles management API: the interface contract, search, edits, merges, erasure, tenancy."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select

from siyu.db.engine import read, write
from siyu.db.tables import erasures, events, identities, profile_merges
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import KeyKind, Role
from tests.api.test_error_shape import assert_envelope


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def send(client, workspace, *messages: dict[str, Any]) -> None:  # noqa: ANN001
    response = client.post("/v1/batch", json={"batch": list(messages)}, headers=basic(workspace.write_key))
    assert response.status_code == 200, response.text


def role_key(runtime: Runtime, workspace, role: Role) -> dict[str, str]:  # noqa: ANN001
    with write(runtime.engine) as conn:
        _, key = workspace_store.create_key(conn, workspace.id, KeyKind.SECRET, role=role)
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def li_na(client, workspace) -> int:  # noqa: ANN001
    send(client, workspace,
         {"type": "identify", "userId": "10086", "anonymousId": "a-1", "messageId": "i1",
          "traits": {"phone": "138 0013 8001", "name": "李娜", "city": "上海"},
          "context": {"campaign": {"source": "xiaohongshu"},
                      "externalIds": [{"type": "wechat_openid:wx123", "id": "o-li"}]}},
         {"type": "track", "userId": "10086", "event": "Order Completed", "messageId": "o1",
          "properties": {"order_id": "A1", "total": 129}})
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "10086"},
                       headers=workspace.bearer())
    return found.json()["id"]


def test_lookup_normalises_the_phone_and_returns_the_contract_fields(client, workspace, li_na: int) -> None:
    response = client.get("/api/profiles/lookup", params={"type": "phone", "value": "13800138001"},
                          headers=workspace.bearer())
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == li_na
    assert {"type": "phone", "value": "+8613800138001"} in [{"type": i["type"], "value": i["value"]}
                                                            for i in body["identities"]]
    assert {"type": "wechat_openid:wx123", "value": "o-li"} in [{"type": i["type"], "value": i["value"]}
                                                                for i in body["identities"]]
    assert body["traits"]["name"] == "李娜" and body["tags"] == []
    assert body["rollups"]["order_count"] == 1 and body["rollups"]["first_channel"] == "xiaohongshu"


def test_lookup_of_an_unknown_identifier_is_404_and_an_invalid_one_400(client, workspace) -> None:
    missing = client.get("/api/profiles/lookup", params={"type": "email", "value": "x@y.cn"},
                         headers=workspace.bearer())
    assert assert_envelope(missing, 404)["code"] == "profiles.not_found"
    bad = client.get("/api/profiles/lookup", params={"type": "phone", "value": "12"}, headers=workspace.bearer())
    assert assert_envelope(bad, 400)["code"] == "identity.invalid_phone"
    unknown_type = client.get("/api/profiles/lookup", params={"type": "fax", "value": "1"},
                              headers=workspace.bearer())
    assert assert_envelope(unknown_type, 400)["code"] == "identity.invalid_identifier"


def test_events_are_newest_first_with_the_contract_fields(client, workspace, li_na: int) -> None:
    body = client.get(f"/api/profiles/{li_na}/events", headers=workspace.bearer()).json()
    assert [(e["name"], e["message_id"]) for e in body["items"]] == [("Order Completed", "o1"), ("identify", "i1")]
    first = body["items"][0]
    assert {"name", "message_id", "timestamp", "properties"} <= set(first)
    assert first["properties"] == {"order_id": "A1", "total": 129}
    page = client.get(f"/api/profiles/{li_na}/events", params={"limit": 1}, headers=workspace.bearer()).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/api/profiles/{li_na}/events", params={"limit": 1, "cursor": page["next_cursor"]},
                      headers=workspace.bearer()).json()
    assert rest["items"][0]["message_id"] != page["items"][0]["message_id"]
    bad = client.get(f"/api/profiles/{li_na}/events", params={"cursor": "nope"}, headers=workspace.bearer())
    assert assert_envelope(bad, 400)["code"] == "request.bad_cursor"


def test_search_by_text_identifier_trait_tag_and_channel(client, workspace, li_na: int) -> None:
    send(client, workspace, {"type": "identify", "userId": "2", "traits": {"name": "王芳", "city": "杭州"}})
    headers = workspace.bearer()
    assert [p["id"] for p in client.get("/api/profiles", params={"q": "李"}, headers=headers).json()["items"]] == [
        li_na]
    assert [p["id"] for p in client.get("/api/profiles", params={"q": "+86138"}, headers=headers).json()[
        "items"]] == [li_na]
    by_phone = client.get("/api/profiles", params={"type": "phone", "value": "13800138001"}, headers=headers)
    assert [p["id"] for p in by_phone.json()["items"]] == [li_na]
    by_trait = client.get("/api/profiles", params={"trait": "city:杭州"}, headers=headers).json()["items"]
    assert [p["name"] for p in by_trait] == ["王芳"]
    by_channel = client.get("/api/profiles", params={"channel": "xiaohongshu"}, headers=headers).json()["items"]
    assert [p["id"] for p in by_channel] == [li_na]
    tag = client.post("/api/tags", json={"name": "KOC", "group": "身份", "kind": "identity"}, headers=headers).json()
    client.post(f"/api/profiles/{li_na}/tags", json={"add": ["KOC"]}, headers=headers)
    tagged = client.get("/api/profiles", params={"tag": tag["id"]}, headers=headers).json()["items"]
    assert [(p["id"], p["tags"]) for p in tagged] == [(li_na, ["KOC"])]
    everyone = client.get("/api/profiles", params={"limit": 1}, headers=headers).json()
    second = client.get("/api/profiles", params={"limit": 1, "cursor": everyone["next_cursor"]},
                        headers=headers).json()
    assert everyone["items"][0]["id"] != second["items"][0]["id"]


def test_traits_edit_is_typed_recorded_and_refuses_identifier_traits(client, workspace, li_na: int) -> None:
    headers = workspace.bearer()
    body = client.patch(f"/api/profiles/{li_na}/traits", json={"set": {"skin": "oily", "age": 28},
                                                               "unset": ["city"]}, headers=headers).json()
    assert body["traits"]["skin"] == "oily" and "city" not in body["traits"]
    assert body["trait_meta"]["age"]["type"] == "number" and body["trait_meta"]["age"]["source"] == "api"
    names = [e["name"] for e in client.get(f"/api/profiles/{li_na}/events", headers=headers).json()["items"]]
    assert "Traits Changed" in names
    refused = client.patch(f"/api/profiles/{li_na}/traits", json={"set": {"phone": "13900000000"}}, headers=headers)
    assert assert_envelope(refused, 400)["code"] == "profiles.reserved_trait"


def test_consent_is_recorded_with_source_and_history(client, workspace, li_na: int) -> None:
    headers = workspace.bearer()
    client.put(f"/api/profiles/{li_na}/consent", json={"channel": "sms", "purpose": "marketing",
                                                       "status": "granted", "source": "form:618"}, headers=headers)
    body = client.put(f"/api/profiles/{li_na}/consent", json={"channel": "sms", "purpose": "marketing",
                                                              "status": "revoked"}, headers=headers).json()
    assert [(c["channel"], c["status"], c["source"]) for c in body["consent"]] == [("sms", "revoked", "api")]
    history = [e for e in client.get(f"/api/profiles/{li_na}/events", headers=headers).json()["items"]
               if e["name"] == "Consent Changed"]
    assert [e["properties"]["status"] for e in history] == ["revoked", "granted"]
    bad = client.put(f"/api/profiles/{li_na}/consent", json={"channel": "pigeon", "purpose": "marketing",
                                                             "status": "granted"}, headers=headers)
    assert_envelope(bad, 400)


def test_merge_preview_and_merge_move_everything_with_an_audit_row(client, runtime: Runtime, workspace,
                                                                   li_na: int) -> None:
    headers = workspace.bearer()
    send(client, workspace, {"type": "track", "anonymousId": "tmall-x", "event": "Order Completed",
                             "properties": {"total": 50}, "context": {"traits": {"email": "lina@mail.cn"}}})
    other = client.get("/api/profiles/lookup", params={"type": "email", "value": "lina@mail.cn"},
                       headers=headers).json()["id"]
    preview = client.get(f"/api/profiles/{li_na}/merge-preview", params={"other": other}, headers=headers).json()
    assert preview["allowed"] and {"type": "email", "value": "lina@mail.cn"} in [
        {"type": i["type"], "value": i["value"]} for i in preview["identities"]]
    merged = client.post(f"/api/profiles/{li_na}/merge", json={"other": other}, headers=headers).json()
    assert merged["rollups"]["order_count"] == 2 and merged["rollups"]["total_spend"] == 179.0
    assert merged["merged_from"] == [other]
    assert client.get(f"/api/profiles/{other}", headers=headers).json()["id"] == li_na  # old id leads on
    with read(runtime.engine) as conn:
        audit = conn.execute(select(profile_merges).where(profile_merges.c.workspace_id == workspace.id)).one()
    assert (audit.reason, audit.from_profile_id, audit.into_profile_id) == ("manual", other, li_na)
    assert audit.actor.startswith("key:") and audit.identities == [
        {"type": "anonymous_id", "value": "tmall-x"}, {"type": "email", "value": "lina@mail.cn"}]


def test_a_merge_breaking_identity_rules_needs_an_owner_and_force(client, runtime: Runtime, workspace,
                                                                  li_na: int) -> None:
    send(client, workspace, {"type": "identify", "userId": "other-member"})
    other = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "other-member"},
                       headers=workspace.bearer()).json()["id"]
    refused = client.post(f"/api/profiles/{li_na}/merge", json={"other": other}, headers=workspace.bearer())
    assert assert_envelope(refused, 409)["code"] == "identity.conflict"
    operator = role_key(runtime, workspace, Role.OPERATOR)
    assert_envelope(client.post(f"/api/profiles/{li_na}/merge", json={"other": other, "force": True},
                                headers=operator), 403)
    forced = client.post(f"/api/profiles/{li_na}/merge", json={"other": other, "force": True},
                         headers=workspace.bearer())
    assert forced.status_code == 200


def test_erasure_removes_personal_data_but_keeps_anonymous_counts(client, runtime: Runtime, workspace,
                                                                   li_na: int) -> None:
    headers = workspace.bearer()
    staff = role_key(runtime, workspace, Role.STAFF)
    assert_envelope(client.post(f"/api/profiles/{li_na}/erase", json={}, headers=staff), 403)
    result = client.post(f"/api/profiles/{li_na}/erase", json={"reason": "PIPL request #7"}, headers=headers).json()
    assert result["identities_removed"] == 4 and result["events_scrubbed"] == 2
    again = client.post(f"/api/profiles/{li_na}/erase", json={}, headers=headers).json()
    assert again["identities_removed"] == 0
    with read(runtime.engine) as conn:
        rows = conn.execute(select(events).where(events.c.workspace_id == workspace.id,
                                                 events.c.profile_id == li_na)).all()
        left = conn.execute(select(identities).where(identities.c.workspace_id == workspace.id)).all()
        logged = conn.execute(select(erasures).where(erasures.c.workspace_id == workspace.id)).one()
    assert len(rows) == 2 and {r.name for r in rows} == {"identify", "Order Completed"}
    text = repr([tuple(r) for r in rows])
    assert "13800138001" not in text and "李娜" not in text and "10086" not in text and "o-li" not in text
    assert left == [] and logged.reason == "PIPL request #7"
    detail = client.get(f"/api/profiles/{li_na}", headers=headers).json()
    assert detail["erased"] and detail["traits"] == {} and detail["identities"] == []
    missing = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "10086"}, headers=headers)
    assert_envelope(missing, 404)


def test_bulk_tagging_by_filter_and_by_identifier_list(client, workspace) -> None:
    headers = workspace.bearer()
    send(client, workspace, *[{"type": "identify", "userId": f"u{i}", "traits": {
        "city": "上海" if i % 2 else "北京", "phone": f"1390000{i:04d}"}} for i in range(60)])
    tag = client.post("/api/tags", json={"name": "上海客户"}, headers=headers).json()
    by_filter = client.post(f"/api/tags/{tag['id']}/bulk", json={"action": "add", "filter": {
        "trait_key": "city", "trait_value": "上海"}}, headers=headers).json()
    assert (by_filter["matched"], by_filter["changed"], by_filter["tag"]["profiles"]) == (30, 30, 30)
    repeat = client.post(f"/api/tags/{tag['id']}/bulk", json={"action": "add", "filter": {
        "trait_key": "city", "trait_value": "上海"}}, headers=headers).json()
    assert repeat["changed"] == 0
    listed = client.post(f"/api/tags/{tag['id']}/bulk", json={"action": "remove", "identifiers": [
        {"type": "phone", "value": "13900000001"}, {"type": "phone", "value": "13900000003"},
        {"type": "phone", "value": "13911111111"}, {"type": "phone", "value": "bad"}]}, headers=headers).json()
    assert (listed["changed"], listed["unknown"], listed["invalid"]) == (2, 1, 1)
    assert listed["tag"]["profiles"] == 28
    neither = client.post(f"/api/tags/{tag['id']}/bulk", json={"action": "add"}, headers=headers)
    assert assert_envelope(neither, 400)["code"] == "tags.bad_bulk"


def test_roles_limit_what_a_key_may_do(client, runtime: Runtime, workspace, li_na: int) -> None:
    analyst = role_key(runtime, workspace, Role.ANALYST)
    assert client.get(f"/api/profiles/{li_na}", headers=analyst).status_code == 200
    assert_envelope(client.patch(f"/api/profiles/{li_na}/traits", json={"set": {"a": 1}}, headers=analyst), 403)
    staff = role_key(runtime, workspace, Role.STAFF)
    assert_envelope(client.post("/api/tags", json={"name": "x"}, headers=staff), 403)


def test_another_workspace_sees_and_changes_nothing(client, workspace, other_workspace, li_na: int) -> None:
    theirs = other_workspace.bearer()
    tag = client.post("/api/tags", json={"name": "mine"}, headers=workspace.bearer()).json()
    for method, path, body in [
        ("GET", f"/api/profiles/{li_na}", None), ("GET", f"/api/profiles/{li_na}/events", None),
        ("PATCH", f"/api/profiles/{li_na}/traits", {"set": {"x": 1}}),
        ("PUT", f"/api/profiles/{li_na}/consent", {"channel": "sms", "purpose": "marketing", "status": "granted"}),
        ("POST", f"/api/profiles/{li_na}/erase", {}), ("POST", f"/api/profiles/{li_na}/tags", {"add": []}),
        ("GET", f"/api/profiles/{li_na}/merge-preview?other={li_na}", None),
        ("DELETE", f"/api/tags/{tag['id']}", None),
        ("POST", f"/api/tags/{tag['id']}/bulk", {"action": "add", "filter": {}}),
    ]:
        response = client.request(method, path, json=body, headers=theirs)
        assert_envelope(response, 404)
    assert client.get("/api/profiles/lookup", params={"type": "user_id", "value": "10086"},
                      headers=theirs).status_code == 404
    assert client.get("/api/profiles", headers=theirs).json()["items"] == []
    assert client.get("/api/tags", headers=theirs).json() == []
    assert client.get(f"/api/profiles/{li_na}", headers=workspace.bearer()).json()["traits"]["name"] == "李娜"


def test_merge_history_and_refused_links_are_visible(client, workspace, other_workspace) -> None:  # noqa: ANN001
    send(client, workspace,
         {"type": "identify", "userId": "alice", "anonymousId": "store-ipad", "messageId": "a1"},
         {"type": "track", "anonymousId": "web-1", "event": "Product Viewed", "messageId": "w1"})
    send(client, workspace, {"type": "identify", "userId": "alice", "anonymousId": "web-1", "messageId": "link"},
         {"type": "identify", "userId": "bob", "anonymousId": "store-ipad", "messageId": "bob"})
    alice = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "alice"},
                       headers=workspace.bearer()).json()["id"]
    [merge] = client.get(f"/api/profiles/{alice}/merges", headers=workspace.bearer()).json()
    assert (merge["into_profile_id"], merge["message_id"], merge["reason"]) == (alice, "link", "event")
    [conflict] = client.get("/api/identity/conflicts", headers=workspace.bearer()).json()
    assert (conflict["identifier_value"], conflict["rule"], conflict["message_id"]) == (
        "store-ipad", "limit:user_id=1", "bob")
    assert client.get("/api/identity/conflicts", headers=other_workspace.bearer()).json() == []
    assert_envelope(client.get(f"/api/profiles/{alice}/merges", headers=other_workspace.bearer()), 404)
