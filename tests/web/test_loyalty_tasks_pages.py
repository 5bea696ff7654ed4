"""Console pages for growth tasks over HTTP: the list with people and completions per task, the
create form (through the API with the page's CSRF token, a refusal's message), one task's edit page
with its recent progress, a member's tasks on their tier-and-points page, the English names in
English, and another workspace's task as a 404 page."""

from __future__ import annotations

import json
import re

from siyu import clock
from siyu.db.engine import write
from siyu.loyalty import tasks_worker
from siyu.profiles.read_store import append_profile_events
from siyu.runtime import Runtime
from tests.loyalty.helpers import NOW, TZ
from tests.payments.pay import person
from tests.web.test_pages import signed_in  # noqa: F401 - the fixture


def _csrf(html: str) -> str:
    return json.loads(re.search(r'id="task-data" type="application/json">(.*?)</script>', html, re.S).group(1))["csrf"]


def test_create_a_task_from_the_page_then_see_completions_and_a_members_progress(  # noqa: ANN001
        signed_in, runtime: Runtime, workspace, other_workspace) -> None:  # noqa: F811
    clock.freeze(NOW)
    page = signed_in.get("/loyalty/tasks")
    assert page.status_code == 200 and 'id="no-tasks"' in page.text and "成长任务" in page.text
    assert 'href="/loyalty/tasks"' in signed_in.get("/loyalty").text  # in the loyalty section's links
    csrf = _csrf(page.text)
    body = {"key": "reviews", "kind": "write_review", "name_zh": "发表评价", "name_en": "Write reviews", "target": 2,
            "points": 10, "starts_at": (NOW.replace(day=1)).isoformat()}
    refused = signed_in.post("/api/loyalty/tasks", json={**body, "target": 0}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422 and "target" in refused.json()["error"]["message"]
    made = signed_in.post("/api/loyalty/tasks", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    task_id = made.json()["id"]
    one, two = person(signed_in, workspace, None, "one"), person(signed_in, workspace, None, "two")
    with write(runtime.engine) as conn:
        append_profile_events(conn, workspace.id, [(one, "Review Written", {}), (one, "Review Written", {}),
                                                   (two, "Review Written", {})], "test", clock.now())
    tasks_worker.run_workspace(runtime.engine, workspace.id, TZ, clock.now())
    listed = signed_in.get("/loyalty/tasks").text
    row = re.search(r'<tr data-key="reviews">(.*?)</tr>', listed, re.S).group(1)
    assert re.search(r'class="people">2<', row) and re.search(r'class="completions">1<', row)
    assert "发表评价" in row
    edit = signed_in.get(f"/loyalty/tasks/{task_id}")
    assert edit.status_code == 200 and 'value="Write reviews"' in edit.text
    assert re.search(rf'data-profile="{one}">.*?class="progress">2 / 2<', edit.text, re.S)
    assert re.search(rf'data-profile="{two}">.*?class="progress">1 / 2<', edit.text, re.S)
    member = signed_in.get(f"/loyalty/members/{two}")
    assert member.status_code == 200
    assert re.search(r'data-key="reviews" data-completed="no">.*?class="progress">1 / 2<', member.text, re.S)
    done = signed_in.get(f"/loyalty/members/{one}").text
    assert 'data-key="reviews" data-completed="yes"' in done
    signed_in.post("/settings/language", data={"locale": "en", "csrf": csrf})
    english = signed_in.get(f"/loyalty/members/{one}").text
    assert "Growth tasks" in english and ">Write reviews</a>" in english
    signed_in.post("/settings/language", data={"locale": "zh_CN", "csrf": csrf})
    changed = signed_in.patch(f"/api/loyalty/tasks/{task_id}", json={"name_en": "Reviews", "active": False},
                              headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200
    assert "已停用" in signed_in.get("/loyalty/tasks").text
    missing = signed_in.get("/loyalty/tasks/999999999")
    assert missing.status_code == 404


def test_another_workspaces_task_is_not_found(signed_in, runtime: Runtime, workspace, other_workspace) -> None:  # noqa: ANN001, F811
    from siyu.loyalty import tasks_service

    with write(runtime.engine) as conn:
        theirs = tasks_service.create_task(conn, other_workspace.id, {
            "key": "x", "kind": "follow_account", "name_zh": "关注", "name_en": "Follow"}, now=clock.now())
    assert signed_in.get(f"/loyalty/tasks/{theirs.id}").status_code == 404
    assert 'data-key="x"' not in signed_in.get("/loyalty/tasks").text
