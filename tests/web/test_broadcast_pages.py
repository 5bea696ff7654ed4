"""Console pages for broadcasts over HTTP: the list with its figures, the composer's data, one
broadcast, the API calls the pages make (with the session's CSRF token), roles and other workspaces."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.messaging import broadcasts, delivery
from siyu.runtime import Runtime
from siyu.segments import membership
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import SECRET, configure
from tests.web.test_pages import (
    PASSWORD,
    profile_of,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

EVERYONE = {"trait": "name", "op": "exists"}  # 李娜 and 王芳 of tests.web.test_pages.customers


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    sink = WebhookSink(SECRET)
    yield sink
    sink.stop()


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _segment(runtime: Runtime, workspace_id: int, name: str = "全部客户") -> int:
    with write(runtime.engine) as conn:
        return membership.save(conn, workspace_id, name=name, description=None, definition=EVERYONE, actor="t",
                               now=clock.now(), timezone="Asia/Shanghai")["id"]


def _row(html: str, broadcast_id: int) -> str:
    return re.search(rf'<tr data-id="{broadcast_id}">(.*?)</tr>', html, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'class="{name}">([^<]*)<', row).group(1)


def test_compose_preview_schedule_and_follow_a_broadcast(signed_in, runtime: Runtime, workspace,  # noqa: ANN001, F811
                                                         hook: WebhookSink) -> None:
    configure(runtime, workspace.id, hook_url=hook.url)
    segment_id = _segment(runtime, workspace.id)
    empty = signed_in.get("/broadcasts")
    assert empty.status_code == 200 and 'id="no-broadcasts"' in empty.text and 'href="/broadcasts/new"' in empty.text
    composer = _data(signed_in.get("/broadcasts/new").text, "composer-data")
    assert composer["segments"] == [{"id": segment_id, "name": "全部客户", "size": 2}]
    assert ["webhook", "Webhook"] in composer["channels"] and ["sms", "短信"] in composer["channels"]
    assert composer["reasons"]["policy.unsubscribed"] == "已退订" and composer["timezone"] == "Asia/Shanghai"
    headers = {"X-CSRF-Token": composer["csrf"]}
    with write(runtime.engine) as conn:
        wang_fang = profile_of(conn, workspace.id, "m2")
    revoked = signed_in.put(f"/api/profiles/{wang_fang}/consent", headers=headers,
                            json={"channel": "webhook", "purpose": "marketing", "status": "revoked"})
    assert revoked.status_code == 200, revoked.text

    preview = signed_in.post("/api/broadcasts/preview", headers=headers,
                             json={"segment_id": segment_id, "channel": "webhook"})
    assert preview.json()["verdicts"] == {"send": 1, "stop:policy.unsubscribed": 1}
    first = signed_in.get(f"/api/segments/{segment_id}/members?limit=1").json()["profile_ids"][0]
    sample = signed_in.post("/api/messages/preview", headers=headers, json={
        "profile_id": first, "channel": "webhook", "template": {"body": {"campaign": "1111"}}})
    assert sample.status_code == 200 and sample.json()["payload"] == {"campaign": "1111"}
    created = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "双11预热", "segment_id": segment_id, "channel": "webhook", "content": {"campaign": "1111"}})
    assert created.status_code == 201, created.text
    broadcast_id = created.json()["id"]

    row = _row(signed_in.get("/broadcasts").text, broadcast_id)
    assert "双11预热" in row and "全部客户" in row and "Webhook" in row
    assert (_cell(row, "status"), _cell(row, "queued"), _cell(row, "sent")) == ("已预约", "0", "0")
    broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id)
    delivery.deliver_due(runtime.engine, workspace_id=workspace.id)
    row = _row(signed_in.get("/broadcasts").text, broadcast_id)
    assert [_cell(row, c) for c in ("status", "queued", "sent", "stopped")] == ["已完成", "2", "1", "1"]
    page = signed_in.get(f"/broadcasts/{broadcast_id}")
    assert page.status_code == 200 and 'id="sent">1<' in page.text and 'id="stopped">1<' in page.text
    assert re.search(r'<tr data-reason="policy.unsubscribed"><td>已退订</td><td>1</td>', page.text)
    assert _data(page.text, "broadcast-data")["id"] == broadcast_id and 'id="test-send"' in page.text
    assert 'id="cancel"' not in page.text  # done, nothing left waiting

    assert len(hook.deliveries) == 1


def test_a_template_broadcasts_page_shows_the_template_as_written(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                  workspace) -> None:  # noqa: ANN001
    segment_id = _segment(runtime, workspace.id)
    headers = {"X-CSRF-Token": _data(signed_in.get("/broadcasts/new").text, "composer-data")["csrf"]}
    created = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "双11 按人", "segment_id": segment_id, "channel": "webhook", "send_at": "2030-01-01T00:00:00Z",
        "template": {"body": {"greeting": "{{ profile.traits.name }}"}}, "track_links": False})
    assert created.status_code == 201, created.text
    page = signed_in.get(f"/broadcasts/{created.json()['id']}").text
    assert 'id="personalised"' in page and "{{ profile.traits.name }}" in page and 'id="untracked"' in page
    plain = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "双11", "segment_id": segment_id, "channel": "webhook", "send_at": "2030-01-01T00:00:00Z",
        "content": {"campaign": "1111"}})
    page = signed_in.get(f"/broadcasts/{plain.json()['id']}").text
    assert 'id="personalised"' not in page and 'id="untracked"' not in page and "1111" in page


def test_a_broadcasts_page_shows_its_goals_conversions_against_the_holdout(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                            workspace, hook: WebhookSink) -> None:  # noqa: ANN001
    from siyu.identity.rules import DEFAULT_RULES
    from siyu.ingest.pipeline import ingest
    from siyu.ingest.spec import parse_message

    configure(runtime, workspace.id, hook_url=hook.url)
    segment_id = _segment(runtime, workspace.id)
    headers = {"X-CSRF-Token": _data(signed_in.get("/broadcasts/new").text, "composer-data")["csrf"]}
    created = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "回购", "segment_id": segment_id, "channel": "webhook", "content": {"campaign": "1111"},
        "goal": {"event": "Order Completed", "within": "3d"}})
    assert created.status_code == 201, created.text
    broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id)
    delivery.deliver_due(runtime.engine, workspace_id=workspace.id)
    with write(runtime.engine) as conn:  # 王芳 (m2) orders after the message
        ingest(conn, workspace.id, [parse_message({"type": "track", "userId": "m2", "event": "Order Completed",
                                                   "properties": {"total": 259}}, received_at=clock.now())],
               rules=DEFAULT_RULES)
    page = signed_in.get(f"/broadcasts/{created.json()['id']}").text
    assert "Order Completed" in page and "3d 内" in page
    treatment = re.search(r'<tr data-group="treatment">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'class="people">2<', treatment) and re.search(r'class="converted">1<', treatment)
    assert 'class="rate">50.0%<' in treatment and "259" in treatment
    assert 'id="counting"' in page and 'id="lift"' not in page  # no holdout: no lift to show


def test_the_holdouts_stops_are_named_in_the_readers_words(signed_in, runtime: Runtime, workspace,  # noqa: ANN001, F811
                                                         hook: WebhookSink) -> None:
    from siyu.messaging import broadcast_goals

    configure(runtime, workspace.id, hook_url=hook.url)
    segment_id = _segment(runtime, workspace.id)
    headers = {"X-CSRF-Token": _data(signed_in.get("/broadcasts/new").text, "composer-data")["csrf"]}
    broadcast_id = 0
    for attempt in range(40):  # a broadcast whose 50 % holdout keeps exactly one of the two back
        created = signed_in.post("/api/broadcasts", headers=headers, json={
            "name": f"回购 {attempt}", "segment_id": segment_id, "channel": "webhook", "content": {"a": "1"},
            "send_at": "2030-01-01T00:00:00Z", "goal": {"event": "Order Completed"}, "holdout_percent": 50})
        members = signed_in.get(f"/api/segments/{segment_id}/members?limit=10").json()["profile_ids"]
        if sum(broadcast_goals.held_out(50, created.json()["id"], pid) for pid in members) == 1:
            broadcast_id = created.json()["id"]
            break
    assert broadcast_id
    clock.freeze(datetime(2030, 1, 1, 0, 1, tzinfo=UTC))
    broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id)
    page = signed_in.get(f"/broadcasts/{broadcast_id}").text
    assert re.search(r'<tr data-reason="broadcast.holdout"><td>留作对照组</td><td>1</td>', page), page
    assert 'id="lift"' in page


def test_test_send_and_cancel_from_a_scheduled_broadcasts_page(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                               workspace, hook: WebhookSink) -> None:
    configure(runtime, workspace.id, hook_url=hook.url)
    segment_id = _segment(runtime, workspace.id)
    headers = {"X-CSRF-Token": _data(signed_in.get("/broadcasts/new").text, "composer-data")["csrf"]}
    broadcast_id = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "周末上新", "segment_id": segment_id, "channel": "webhook", "content": {"drop": "weekend"},
        "send_at": "2030-01-01T10:00:00+08:00"}).json()["id"]
    page = signed_in.get(f"/broadcasts/{broadcast_id}").text
    assert 'id="cancel"' in page and "2030年1月1日 10:00" in page
    with write(runtime.engine) as conn:
        li_na = profile_of(conn, workspace.id, "m1")
    tested = signed_in.post(f"/api/broadcasts/{broadcast_id}/test", headers=headers, json={"profile_ids": [li_na]})
    assert tested.status_code == 200 and len(tested.json()["message_ids"]) == 1
    delivery.deliver_due(runtime.engine, workspace_id=workspace.id)
    assert [body["profile_id"] for _, body in hook.deliveries] == [li_na]
    cancelled = signed_in.post(f"/api/broadcasts/{broadcast_id}/cancel", headers=headers)
    assert cancelled.status_code == 200
    page = signed_in.get(f"/broadcasts/{broadcast_id}").text
    assert 'id="status">已取消<' in page and 'id="cancel"' not in page


def test_the_apis_refusals_name_the_field_the_composer_shows_them_beside(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                        workspace) -> None:
    segment_id = _segment(runtime, workspace.id)
    headers = {"X-CSRF-Token": _data(signed_in.get("/broadcasts/new").text, "composer-data")["csrf"]}
    no_subject = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "x", "segment_id": segment_id, "channel": "email", "content": {"text": "hi"}})
    assert no_subject.status_code == 422 and no_subject.json()["error"]["details"]["field"] == "content.subject"
    no_template = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "x", "segment_id": segment_id, "channel": "sms", "content": {"sign_name": "完美日记"}})
    assert no_template.json()["error"]["details"]["field"] == "content.template_code"
    throttle = signed_in.post("/api/broadcasts", headers=headers, json={
        "name": "x", "segment_id": segment_id, "channel": "webhook", "content": {"a": 1}, "rate_per_minute": 0})
    assert throttle.json()["error"]["details"]["problems"][0]["location"] == "body.rate_per_minute"
    without_token = signed_in.post("/api/broadcasts", json={
        "name": "x", "segment_id": segment_id, "channel": "webhook", "content": {"a": 1}})
    assert without_token.status_code == 403 and without_token.json()["error"]["code"] == "auth.csrf"
    assert 'id="no-broadcasts"' in signed_in.get("/broadcasts").text


def test_an_analyst_reads_broadcasts_but_may_not_send(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    segment_id = _segment(runtime, workspace.id)
    created = client.post("/api/broadcasts", headers=workspace.bearer(), json={
        "name": "会员日", "segment_id": segment_id, "channel": "webhook", "content": {"a": 1},
        "send_at": "2030-01-01T00:00:00Z"}).json()
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/broadcasts")
    assert listed.status_code == 200 and "会员日" in listed.text and 'href="/broadcasts/new"' not in listed.text
    refused = client.get("/broadcasts/new")
    assert refused.status_code == 403 and "needs the messages:send permission" in refused.text
    assert 'id="composer"' not in refused.text
    page = client.get(f"/broadcasts/{created['id']}")
    assert page.status_code == 200 and 'id="test-send"' not in page.text and 'id="cancel"' not in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    tried = client.post(f"/api/broadcasts/{created['id']}/cancel", headers={"X-CSRF-Token": token})
    assert tried.status_code == 403 and tried.json()["error"]["details"]["permission"] == "messages:send"


def test_another_workspaces_broadcast_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    segment_id = _segment(runtime, other.id)
    theirs = signed_in.post("/api/broadcasts", headers=other.bearer(), json={
        "name": "theirs", "segment_id": segment_id, "channel": "webhook", "content": {"a": 1}}).json()
    assert signed_in.get(f"/broadcasts/{theirs['id']}").status_code == 404
    assert "theirs" not in signed_in.get("/broadcasts").text
    assert signed_in.get("/broadcasts/abc").status_code == 404


def test_broadcast_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/broadcasts", "/broadcasts/new", "/broadcasts/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
