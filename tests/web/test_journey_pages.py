"""Console pages for journeys over HTTP: the list with its figures and ready templates, the editor's
data, the flow page's definition and counts, the API calls the pages make, roles, other workspaces."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.journeys.scenario import NOON, quiet_policy, run, track
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

WELCOME = {"trigger": {"event": "Followed"},
           "steps": [{"id": "hello", "send": {"channel": "webhook", "content": {"campaign": "welcome"}}},
                     {"id": "bought", "condition": {"rollup": "order_count", "op": "gte", "value": 1},
                      "then": "end", "else": "wait"},
                     {"id": "wait", "wait": "1d"},
                     {"id": "nudge", "tag": {"add": ["待转化"]}}]}


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _csrf(client) -> str:  # noqa: ANN001
    return _data(client.get("/journeys/new").text, "editor-data")["csrf"]


def _row(html: str, journey_id: int) -> str:
    return re.search(rf'<tr data-id="{journey_id}">(.*?)</tr>', html, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'class="{name}">([^<]*)<', row).group(1)


def test_create_publish_and_follow_a_journey_as_the_console_does(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                 workspace) -> None:
    clock.freeze(NOON)
    quiet_policy(runtime, workspace.id)
    listed = signed_in.get("/journeys").text
    assert 'id="no-journeys"' in listed and 'data-template="welcome"' in listed and "关注后欢迎系列" in listed
    editor = _data(signed_in.get("/journeys/new").text, "editor-data")
    assert editor["id"] is None and "wait_for" in editor["vocabulary"]["step_kinds"]
    assert ["webhook", "Webhook"] in editor["vocabulary"]["channels"] and editor["kinds"]["wait_for"] == "等待事件"
    headers = {"X-CSRF-Token": editor["csrf"]}
    created = signed_in.post("/api/journeys", headers=headers, json={"name": "关注欢迎", "definition": WELCOME})
    assert created.status_code == 201, created.text
    journey_id = created.json()["id"]

    edit = _data(signed_in.get(f"/journeys/{journey_id}/edit").text, "editor-data")
    assert (edit["id"], edit["name"], edit["definition"]) == (journey_id, "关注欢迎", WELCOME)
    page = signed_in.get(f"/journeys/{journey_id}")
    assert page.status_code == 200 and 'id="status">草稿<' in page.text and 'id="publish"' in page.text
    assert _data(page.text, "journey-data")["definition"] == WELCOME
    assert signed_in.post(f"/api/journeys/{journey_id}/publish", headers=headers).status_code == 200

    track(signed_in, workspace, "lina", "Followed")
    run(runtime, workspace)
    page = signed_in.get(f"/journeys/{journey_id}")
    assert 'id="status">运行中<' in page.text and 'id="pause"' in page.text and 'id="publish"' not in page.text
    flow = _data(page.text, "journey-data")
    steps = {s["step"]: s for s in flow["stats"]["steps"]}
    assert [s["step"] for s in flow["stats"]["steps"]] == ["hello", "bought", "wait", "nudge"]
    assert (steps["hello"]["completed"], steps["wait"]["waiting"]) == (1, 1)
    assert steps["bought"]["outcomes"] == {"branch:else": 1}
    assert 'id="entered">1<' in page.text and 'id="active">1<' in page.text
    row = _row(signed_in.get("/journeys").text, journey_id)
    assert [_cell(row, c) for c in ("status", "version", "entered", "active", "converted")] == \
        ["运行中", "1", "1", "1", "0"]

    changed = signed_in.patch(f"/api/journeys/{journey_id}", headers=headers,
                              json={"definition": {**WELCOME, "holdout_percent": 10}})
    assert changed.status_code == 200
    page = signed_in.get(f"/journeys/{journey_id}").text
    assert 'id="draft-differs"' in page and 'id="publish"' in page
    assert "holdout_percent" not in json.dumps(_data(page, "journey-data")["definition"])  # the live version is drawn


def test_a_template_becomes_a_draft_the_editor_opens(signed_in) -> None:  # noqa: ANN001, F811
    headers = {"X-CSRF-Token": _csrf(signed_in)}
    created = signed_in.post("/api/journeys", headers=headers, json={"template": "cart_abandonment", "language": "zh"})
    assert created.status_code == 201, created.text
    editor = _data(signed_in.get(f"/journeys/{created.json()['id']}/edit").text, "editor-data")
    assert editor["name"] == "购物车挽回" and editor["definition"]["steps"][0]["id"] == "ordered-in-1h"
    english = signed_in.get("/journeys", headers={"Accept-Language": "en-US"}).text
    assert 'data-template="cart_abandonment">Cart abandonment<' in english


def test_refusals_name_the_step_and_field_the_editor_shows_them_beside(signed_in) -> None:  # noqa: ANN001, F811
    headers = {"X-CSRF-Token": _csrf(signed_in)}
    bad = {"trigger": {"event": "Followed"}, "steps": [{"id": "w", "wait": "3 days"}]}
    refused = signed_in.post("/api/journeys", headers=headers, json={"name": "x", "definition": bad})
    details = refused.json()["error"]["details"]
    assert refused.status_code == 422 and (details["path"], details["step"]) == ("steps[0].wait", "w")
    unnamed = signed_in.post("/api/journeys", headers=headers, json={"name": "", "definition": WELCOME})
    assert unnamed.json()["error"]["details"]["problems"][0]["location"] == "body.name"
    without_token = signed_in.post("/api/journeys", json={"name": "x", "definition": WELCOME})
    assert without_token.status_code == 403 and without_token.json()["error"]["code"] == "auth.csrf"


def test_an_analyst_reads_journeys_but_may_not_change_them(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    created = client.post("/api/journeys", headers=workspace.bearer(), json={"name": "会员日", "definition": WELCOME})
    journey_id = created.json()["id"]
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/journeys")
    assert listed.status_code == 200 and "会员日" in listed.text and 'id="start"' not in listed.text
    for path in ("/journeys/new", f"/journeys/{journey_id}/edit"):
        refused = client.get(path)
        assert refused.status_code == 403 and "needs the messages:send permission" in refused.text
        assert 'id="editor"' not in refused.text
    page = client.get(f"/journeys/{journey_id}")
    assert page.status_code == 200 and 'id="actions"' not in page.text and 'id="flow"' in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    tried = client.post(f"/api/journeys/{journey_id}/publish", headers={"X-CSRF-Token": token})
    assert tried.status_code == 403 and tried.json()["error"]["details"]["permission"] == "messages:send"


def test_another_workspaces_journey_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    theirs = signed_in.post("/api/journeys", headers=other.bearer(), json={"name": "theirs", "definition": WELCOME})
    journey_id = theirs.json()["id"]
    assert signed_in.get(f"/journeys/{journey_id}").status_code == 404
    assert signed_in.get(f"/journeys/{journey_id}/edit").status_code == 404
    assert "theirs" not in signed_in.get("/journeys").text
    assert signed_in.get("/journeys/abc").status_code == 404


def test_journey_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/journeys", "/journeys/new", "/journeys/1", "/journeys/1/edit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
