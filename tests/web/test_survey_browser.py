"""Surveys in a real browser (Debian's chromium through Playwright): create a survey in the console
(a refusal first), answer it on the public mobile page from a signed link on a phone-sized screen,
and read the NPS report with its ECharts chart, by month, by segment, and in English."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.journeys.scenario import person
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_create_answer_on_a_phone_and_read_the_nps_chart(browser, live_server: str,  # noqa: F811
                                                         runtime: Runtime, client, workspace,  # noqa: ANN001
                                                         artifacts_dir: Path, backend: str) -> None:
    email = f"surveys-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/surveys")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-surveys")
    assert "问卷" in page.inner_text("header nav")
    page.fill("#question-zh", "只写了中文")  # the English question is missing: refused
    page.click("#create-survey")
    page.wait_for_selector("#form-error:not(:empty)")
    page.fill("#question-zh", "")
    page.fill("#survey-name", "门店体验 NPS")
    page.click("#create-survey")
    page.wait_for_selector("#survey-title")
    survey_id = int(page.url.rstrip("/").split("/")[-1])
    assert page.is_visible("#chart-empty")
    survey = client.get(f"/api/surveys/{survey_id}", headers=workspace.bearer()).json()
    assert survey["name"] == "门店体验 NPS" and survey["texts"]["comment"] is not None

    lina, wei = person(client, workspace, "lina", city="上海"), person(client, workspace, "wei", city="北京")
    shanghai = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "上海客户", "definition": {"trait": "city", "op": "eq", "value": "上海"}}).json()["id"]
    links = client.post(f"/api/surveys/{survey_id}/links", headers=workspace.bearer(),
                        json={"profile_ids": [lina, wei]}).json()["links"]
    phone = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844})
    phone.goto(links[0]["url"].replace(runtime.config.public_url, live_server))
    phone.click("text=9")
    phone.fill("#comment", "导购很专业")
    phone.click("button[type=submit]")
    phone.wait_for_selector("text=感谢你的反馈")
    phone.screenshot(path=str(artifacts_dir / f"survey-public-{backend}.png"), full_page=True)
    assert client.post("/survey/" + links[1]["url"].rsplit("/survey/", 1)[1], data={"score": "3"}).status_code == 200

    page.reload()
    page.wait_for_selector("#chart canvas")
    assert page.inner_text("#nps") == "0.0"
    assert "导购很专业" in page.inner_text("#answers")
    page.select_option("#segment", str(shanghai))
    page.select_option("#by", "month")
    page.click("#apply")
    page.wait_for_selector("#chart canvas")
    assert page.inner_text("#nps") == "100.0" and "by=month" in page.url
    page.screenshot(path=str(artifacts_dir / f"console-survey-nps-{backend}.png"), full_page=True)
    page.select_option("#locale", "en")
    page.wait_for_selector("text=Latest answers")
    assert "Surveys" in page.inner_text("header nav") and "1 answers: 1 promoters" in page.inner_text("#nps-counts")
