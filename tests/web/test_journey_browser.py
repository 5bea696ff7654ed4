"""Journeys in a real browser (Debian's chromium through Playwright): build trigger + wait + send in the
editor, see the API's refusal beside the field it names, save, publish, and watch the flow's counts
change as the worker runs and time moves (siyu.clock, no sleeping)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from siyu import clock
from siyu.runtime import Runtime
from siyu.worker import run_pass
from tests.journeys.scenario import NOON, quiet_policy
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def _cell(page, step: str, column: str) -> str:  # noqa: ANN001
    return page.inner_text(f"#steps tr[data-step='{step}'] td.{column}")


def test_build_a_journey_fix_a_refused_field_publish_and_watch_the_flow(browser, live_server: str,  # noqa: F811
                                                                       runtime: Runtime, client, workspace,  # noqa: ANN001
                                                                       artifacts_dir: Path, backend: str) -> None:
    clock.freeze(NOON)
    quiet_policy(runtime, workspace.id)
    email = f"journeys-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/journeys")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-journeys")
    page.click("#new-journey")
    page.wait_for_selector("#editor")

    page.fill("#journey-name", "关注欢迎")
    page.fill("[data-path='trigger.event']", "Followed")
    page.select_option("#new-step-kind", "wait")
    page.click("#add-step")
    page.select_option("#new-step-kind", "send")
    page.click("#add-step")
    wait, send = page.locator("#steps .step-card").nth(0), page.locator("#steps .step-card").nth(1)
    wait.locator("[data-path='wait.duration']").fill("3 days")
    send.locator("[data-path='send.channel']").select_option("webhook")
    send.locator("[data-path='send.personalise']").uncheck()
    send.locator("[data-path='send.content']").fill('{"campaign": "welcome"}')
    page.click("#save")
    refusal = wait.locator(".field-error[data-for='wait.duration']")
    refusal.wait_for(state="visible")
    assert "3d" in refusal.inner_text() and "3 days" in refusal.inner_text()
    assert wait.locator("[data-path='wait.duration']").get_attribute("aria-invalid") == "true"
    assert "invalid" in (wait.get_attribute("class") or "") and send.locator(".field-error").all_inner_texts() == [
        "" for _ in range(send.locator(".field-error").count())]
    page.screenshot(path=str(artifacts_dir / f"console-journey-editor-{backend}.png"), full_page=True)

    wait.locator("[data-path='wait.duration']").fill("1d")
    page.click("#save")
    page.wait_for_selector("h1#journey-name")
    assert page.inner_text("#journey-name") == "关注欢迎" and page.inner_text("#status") == "草稿"
    journey_id = int(page.url.rstrip("/").split("/")[-1])
    draft = client.get(f"/api/journeys/{journey_id}", headers=workspace.bearer()).json()["draft"]
    assert draft == {"trigger": {"event": "Followed"}, "entry": {"rule": "once"}, "steps": [
        {"id": "wait-1", "wait": {"duration": "1d"}},
        {"id": "send-1", "send": {"channel": "webhook", "purpose": "marketing", "content": {"campaign": "welcome"}}}]}

    page.wait_for_selector("#actions[data-ready='true']")  # the page's script has wired the buttons
    page.click("#publish")
    page.wait_for_function("document.getElementById('status').textContent === '运行中'")
    page.wait_for_selector("#flow canvas")
    assert _cell(page, "wait-1", "entered") == "0"
    for user in ("lina", "fang"):
        sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={"userId": user, "event": "Followed"})
        assert sent.status_code == 200
    run_pass(runtime)
    # the page asks for fresh counts every few seconds: Playwright waits for them, nothing sleeps
    page.wait_for_function("document.querySelector(\"#steps tr[data-step='wait-1'] td.waiting\").textContent === '2'")
    assert (_cell(page, "wait-1", "entered"), _cell(page, "send-1", "entered")) == ("2", "0")
    assert page.inner_text("#entered") == "2" and page.inner_text("#active") == "2"

    clock.advance(timedelta(days=1, minutes=1))
    run_pass(runtime)
    page.wait_for_function("document.querySelector(\"#steps tr[data-step='send-1'] td.completed\").textContent === '2'")
    assert (_cell(page, "wait-1", "waiting"), _cell(page, "wait-1", "completed")) == ("0", "2")
    assert page.inner_text("#completed") == "2" and page.inner_text("#active") == "0"
    page.screenshot(path=str(artifacts_dir / f"console-journey-flow-{backend}.png"), full_page=True)

    page.wait_for_selector("#actions[data-ready='true']")  # reloaded after publishing
    page.click("#pause")
    page.wait_for_function("document.getElementById('status').textContent === '已暂停'")
    page.click("header nav >> text=营销自动化")
    row = page.locator(f"#journeys tr[data-id='{journey_id}']")
    assert row.locator(".status").inner_text() == "已暂停" and row.locator(".entered").inner_text() == "2"
