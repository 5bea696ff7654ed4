"""``/api/journeys`` on both databases: the draft and its versions, state changes and their
refusals, figures, templates, permissions, and another workspace seeing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import KeyKind, Role
from tests.api.test_error_shape import assert_envelope
from tests.journeys.scenario import NOON, email, live, person, queued, quiet_policy, run, track

SIMPLE = {"trigger": {"event": "Joined"}, "steps": [{"id": "hi", "send": email("你好")}]}


def test_draft_edit_publish_pause_resume_archive(client: Any, workspace: Any) -> None:
    headers = workspace.bearer()
    created = client.post("/api/journeys", headers=headers, json={"name": "欢迎", "definition": SIMPLE})
    assert created.status_code == 201, created.text
    journey = created.json()
    assert (journey["status"], journey["version"], journey["versions"]) == ("draft", 0, [])
    url = f"/api/journeys/{journey['id']}"
    assert_envelope(client.post(f"{url}/pause", headers=headers), 409)
    assert_envelope(client.post(f"{url}/resume", headers=headers), 409)
    changed = {**SIMPLE, "steps": [{"id": "hi", "send": email("您好")}]}
    edited = client.patch(url, headers=headers, json={"name": "欢迎新粉", "definition": changed})
    assert (edited.json()["name"], edited.json()["draft"]) == ("欢迎新粉", changed)
    published = client.post(f"{url}/publish", headers=headers).json()
    assert (published["status"], published["version"], len(published["versions"])) == ("live", 1, 1)
    assert client.post(f"{url}/publish", headers=headers).json()["version"] == 2
    assert client.post(f"{url}/pause", headers=headers).json()["status"] == "paused"
    assert client.post(f"{url}/resume", headers=headers).json()["status"] == "live"
    assert client.post(f"{url}/archive", headers=headers).json()["status"] == "archived"
    for action in ("publish", "archive"):
        assert assert_envelope(client.post(f"{url}/{action}", headers=headers), 409)["code"] == "journeys.conflict"
    assert_envelope(client.patch(url, headers=headers, json={"name": "x"}), 409)
    assert [j["id"] for j in client.get("/api/journeys", headers=headers).json()] == []
    assert [j["id"] for j in client.get("/api/journeys?include_archived=true", headers=headers).json()] == \
        [journey["id"]]
    assert client.get(f"{url}/versions/1", headers=headers).json()["definition"] == changed
    assert_envelope(client.get(f"{url}/versions/9", headers=headers), 404)


@pytest.mark.parametrize(("body", "status", "code", "path"), [
    ({"name": "x", "definition": {"trigger": {"event": "x"}, "steps": [{"id": "a", "send": {"channel": "pigeon"}}]}},
     422, "journeys.invalid_definition", "steps[0].send.channel"),
    ({"name": "x", "definition": {"steps": []}}, 422, "journeys.invalid_definition", "trigger"),
    ({"name": "x"}, 422, "journeys.invalid", None),
    ({"template": "no-such-template"}, 404, "journeys.no_template", None),
    ({"name": "", "definition": SIMPLE}, 400, "request.invalid", None),
])
def test_bad_definitions_are_refused_with_the_path(client: Any, workspace: Any, body: dict[str, Any], status: int,
                                                   code: str, path: str | None) -> None:
    error = assert_envelope(client.post("/api/journeys", headers=workspace.bearer(), json=body), status)
    assert error["code"] == code
    if path is not None:
        assert error["details"]["path"] == path and error["details"]["reason"]


def test_publishing_checks_the_segments_it_names(client: Any, workspace: Any) -> None:
    draft = client.post("/api/journeys", headers=workspace.bearer(), json={"name": "x", "definition": {
        "trigger": {"event": "Joined"}, "steps": [{"id": "check", "condition": {"segment": 99999}},
                                                  {"id": "hi", "send": email("你好")}]}}).json()
    error = assert_envelope(client.post(f"/api/journeys/{draft['id']}/publish", headers=workspace.bearer()), 422)
    assert (error["details"]["path"], error["details"]["step"]) == ("steps[0].condition", "check")
    assert "99999" in error["message"]
    on_segment = client.post("/api/journeys", headers=workspace.bearer(), json={"name": "y", "definition": {
        "trigger": {"segment": 99999}, "steps": [{"id": "hi", "send": email("你好")}]}}).json()
    error = assert_envelope(client.post(f"/api/journeys/{on_segment['id']}/publish", headers=workspace.bearer()), 422)
    assert error["details"]["path"] == "trigger.segment"


def test_people_enter_live_journeys_only(client: Any, workspace: Any) -> None:
    lina = person(client, workspace, "lina")
    draft = client.post("/api/journeys", headers=workspace.bearer(), json={"name": "x", "definition": SIMPLE}).json()
    error = assert_envelope(client.post(f"/api/journeys/{draft['id']}/entries", headers=workspace.bearer(),
                                        json={"profile_id": lina, "idempotency_key": "k"}), 409)
    assert error["code"] == "journeys.not_live"
    journey = live(client, workspace, SIMPLE, "once")
    entered = client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                          json={"profile_id": lina, "idempotency_key": "k1"})
    assert entered.status_code == 201
    error = assert_envelope(client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                                        json={"profile_id": lina, "idempotency_key": "k2"}), 409)
    assert error["code"] == "journeys.already_entered"  # the default entry rule: once


def test_stats_per_journey_and_step_with_the_holdout_lift(runtime: Runtime, client: Any, workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    journey = live(client, workspace, {
        "trigger": {"event": "Joined"}, "holdout_percent": 50, "goal": {"event": "Order Completed", "within": "7d"},
        "steps": [{"id": "hi", "send": email("你好")}, {"id": "wait", "wait": "2d"},
                  {"id": "again", "send": email("再见")}]})
    users = {}
    for n in range(30):
        users[person(client, workspace, f"p{n}")] = f"p{n}"
        track(client, workspace, f"p{n}", "Joined")
    run(runtime, workspace)
    entered = client.get(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                         params={"limit": 1000}).json()
    assert len(entered) == 30
    treated = [e for e in entered if e["cohort"] == "treatment"]
    held = [e for e in entered if e["cohort"] == "holdout"]
    for entry in treated[:4] + held[:1]:
        track(client, workspace, users[entry["profile_id"]], "Order Completed")
    run(runtime, workspace)
    stats = client.get(f"/api/journeys/{journey['id']}/stats", headers=workspace.bearer()).json()
    assert (stats["entered"], stats["converted"]) == (30, 5)
    assert stats["treatment"]["entered"] == len(treated) and stats["holdout"]["entered"] == len(held)
    t_rate, h_rate = 4 / len(treated), 1 / len(held)
    assert stats["treatment"]["conversion_rate"] == pytest.approx(t_rate)
    assert stats["holdout"]["conversion_rate"] == pytest.approx(h_rate)
    assert stats["lift"] == pytest.approx((t_rate - h_rate) / h_rate)
    steps = {s["step"]: s for s in stats["steps"]}
    assert [s["step"] for s in stats["steps"]] == ["hi", "wait", "again"]
    assert (steps["hi"]["entered"], steps["hi"]["completed"], steps["hi"]["messages_queued"]) == \
        (len(treated), len(treated), len(treated))
    assert steps["wait"]["waiting"] == len(treated) - 4  # the converted ones left
    clock.advance(timedelta(days=2))
    run(runtime, workspace)
    stats = client.get(f"/api/journeys/{journey['id']}/stats", headers=workspace.bearer()).json()
    steps = {s["step"]: s for s in stats["steps"]}
    assert (steps["wait"]["waiting"], steps["again"]["messages_queued"]) == (0, len(treated) - 4)
    assert stats["completed"] == len(treated) - 4
    assert len(queued(runtime, workspace, journey["id"])) == 2 * len(treated) - 4


def test_templates_are_listed_in_both_languages(client: Any, workspace: Any) -> None:
    zh = client.get("/api/journey-templates", headers=workspace.bearer()).json()
    en = client.get("/api/journey-templates", params={"language": "en"}, headers=workspace.bearer()).json()
    assert [t["key"] for t in zh] == [t["key"] for t in en] == [
        "welcome", "forgetting_curve", "browse_abandonment", "cart_abandonment", "post_purchase", "winback",
        "birthday", "anniversary", "spring_festival", "double_11_warmup", "618_warmup", "points_expiring",
        "new_vs_returning"]
    assert zh[0]["name"] == "关注后欢迎系列" and en[0]["name"] == "Welcome series after follow"
    assert zh[0]["definition"] == en[0]["definition"]  # messages carry both languages


def test_roles_and_other_workspaces(runtime: Runtime, client: Any, workspace: Any, other_workspace: Any) -> None:
    journey = live(client, workspace, SIMPLE)
    for path in (f"/api/journeys/{journey['id']}", f"/api/journeys/{journey['id']}/stats",
                 f"/api/journeys/{journey['id']}/entries"):
        assert_envelope(client.get(path, headers=other_workspace.bearer()), 404)
    assert_envelope(client.post(f"/api/journeys/{journey['id']}/pause", headers=other_workspace.bearer()), 404)
    assert client.get("/api/journeys", headers=other_workspace.bearer()).json() == []
    lina = person(client, workspace, "lina")
    entered = client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                          json={"profile_id": lina, "idempotency_key": "k"}).json()
    entry_url = f"/api/journeys/{journey['id']}/entries/{entered['id']}"
    assert client.get(entry_url, headers=workspace.bearer()).json()["profile_id"] == lina
    assert_envelope(client.get(entry_url, headers=other_workspace.bearer()), 404)
    assert_envelope(client.get(f"/api/journeys/{journey['id'] + 1}/entries/{entered['id']}",
                               headers=workspace.bearer()), 404)
    assert client.get("/api/staff-tasks", headers=other_workspace.bearer()).json() == []
    with write(runtime.engine) as conn:
        _, analyst = workspace_store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.ANALYST)
    reader = {"Authorization": f"Bearer {analyst}"}
    assert client.get(f"/api/journeys/{journey['id']}", headers=reader).status_code == 200
    assert_envelope(client.post(f"/api/journeys/{journey['id']}/pause", headers=reader), 403)
    assert_envelope(client.post("/api/journeys", headers=reader, json={"name": "x", "definition": SIMPLE}), 403)
