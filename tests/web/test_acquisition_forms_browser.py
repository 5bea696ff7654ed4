"""Hosted forms in a real browser (Debian's chromium through Playwright): write a definition in the
editor, see the parser's refusal with the path it names beside the editor, save, land on the form's
page, and close the form with its button — each outcome checked through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.acquisition.test_forms import DEFINITION
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_write_a_form_fix_the_refused_path_save_and_close_it(browser, live_server: str,  # noqa: F811
                                                             runtime: Runtime, client, workspace,  # noqa: ANN001
                                                             artifacts_dir: Path, backend: str) -> None:
    email = f"forms-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/forms")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-forms")
    page.click("#new-form")
    page.wait_for_selector("#form-editor")
    assert json.loads(page.input_value("#definition"))["consent"]["purposes"] == [
        {"channel": "sms", "purpose": "marketing"}]  # the starter names every part

    broken = {**DEFINITION, "fields": [DEFINITION["fields"][0], {**DEFINITION["fields"][1], "options": []}]}
    page.fill("#definition", json.dumps(broken, ensure_ascii=False, indent=2))
    page.click("#save")
    refusal = page.locator("#definition-error")
    refusal.wait_for(state="visible")
    assert refusal.inner_text().startswith("fields[1].options: ")
    assert page.get_attribute("#definition", "aria-invalid") == "true"
    page.screenshot(path=str(artifacts_dir / f"console-form-editor-{backend}.png"), full_page=True)
    page.fill("#definition", "{not json")
    page.click("#save")
    page.wait_for_function("!document.getElementById('definition-error').textContent.startsWith('fields')")
    assert page.inner_text("#definition-error") and client.get("/api/forms", headers=workspace.bearer()).json() == []

    page.fill("#definition", json.dumps(DEFINITION, ensure_ascii=False, indent=2))
    page.click("#save")
    page.wait_for_selector("h1#form-name")
    form_id = int(page.url.rstrip("/").split("/")[-1])
    saved = client.get(f"/api/forms/{form_id}", headers=workspace.bearer()).json()
    assert saved["name"] == "双11 新客礼" and saved["definition"]["fields"][1]["options"] == ["干性", "油性", "混合"]
    assert page.inner_text("#form-status") == "收集中" and page.inner_text("#public-url").endswith(saved["slug"])

    page.click("#close")
    page.wait_for_selector("#reopen")
    assert page.inner_text("#form-status") == "已关闭"
    assert client.get(f"/api/forms/{form_id}", headers=workspace.bearer()).json()["status"] == "archived"
    page.screenshot(path=str(artifacts_dir / f"console-form-{backend}.png"), full_page=True)
