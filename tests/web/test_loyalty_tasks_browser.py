"""Growth tasks in a real browser (Debian's chromium through Playwright): create a task on the
console's tasks page, see a refusal for a duplicate key, then — after a person follows and the worker
runs — see the completion in the list, on the task's page and in the person's member section; edit
the task and check the change through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.loyalty import tasks_worker
from siyu.profiles.read_store import append_profile_events
from siyu.runtime import Runtime
from tests.loyalty.helpers import TZ
from tests.payments.pay import person
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_create_a_task_in_the_console_and_see_progress(browser, live_server: str, runtime: Runtime,  # noqa: F811
                                                       client, workspace, artifacts_dir: Path,  # noqa: ANN001
                                                       backend: str) -> None:
    email = f"tasks-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/loyalty/tasks")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-tasks")
    page.fill("#task-key", "reviews")
    page.fill("#task-name-zh", "写两条评价")
    page.fill("#task-name-en", "Write two reviews")
    page.select_option("#task-kind", "write_review")
    page.fill("#task-target", "2")
    page.fill("#task-points", "15")
    with page.expect_navigation():  # saved: the task's own page
        page.click("#task-save")
    page.wait_for_selector("#task-form[data-task-id]")
    tasks = client.get("/api/loyalty/tasks", headers=workspace.bearer()).json()
    assert [(t["key"], t["kind"], t["target"], t["points"]) for t in tasks] == [("reviews", "write_review", 2, 15)]
    task_id = tasks[0]["id"]

    page.goto(f"{live_server}/loyalty/tasks")
    page.fill("#task-key", "reviews")  # the same key again: refused above the form
    page.fill("#task-name-zh", "重复")
    page.fill("#task-name-en", "Again")
    page.select_option("#task-kind", "follow_account")
    page.click("#task-save")
    assert "reviews" in page.wait_for_selector("#task-error:not(:empty)").inner_text()

    ann, bo = person(client, workspace, None, "ann"), person(client, workspace, None, "bo")
    with write(runtime.engine) as conn:
        append_profile_events(conn, workspace.id, [(ann, "Review Written", {}), (ann, "Review Written", {}),
                                                   (bo, "Review Written", {})], "test", clock.now())
    tasks_worker.run_workspace(runtime.engine, workspace.id, TZ, clock.now())
    page.goto(f"{live_server}/loyalty/tasks")
    assert page.inner_text("#tasks tr[data-key=reviews] .completions") == "1"
    assert page.inner_text("#tasks tr[data-key=reviews] .people") == "2"
    page.click("#tasks tr[data-key=reviews] a")
    page.wait_for_selector("#task-progress")
    assert page.inner_text(f"#task-progress tr[data-profile='{bo}'] .progress") == "1 / 2"
    page.screenshot(path=str(artifacts_dir / f"console-loyalty-task-{backend}.png"), full_page=True)
    page.fill("#task-name-en", "Two reviews")
    page.uncheck("#task-active")
    with page.expect_navigation():
        page.click("#task-save")
    changed = client.get(f"/api/loyalty/tasks/{task_id}", headers=workspace.bearer()).json()
    assert (changed["name_en"], changed["active"]) == ("Two reviews", False)
    client.patch(f"/api/loyalty/tasks/{task_id}", headers=workspace.bearer(), json={"active": True})
    page.goto(f"{live_server}/loyalty/members/{bo}")
    assert page.inner_text("#member-tasks tr[data-key=reviews] .progress") == "1 / 2"
    page.goto(f"{live_server}/loyalty/members/{ann}")
    assert page.get_attribute("#member-tasks tr[data-key=reviews]", "data-completed") == "yes"
    page.screenshot(path=str(artifacts_dir / f"console-loyalty-member-tasks-{backend}.png"), full_page=True)
