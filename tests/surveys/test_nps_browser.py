"""The surveys list's NPS charts in a real browser (Debian's chromium through Playwright): NPS over time,
one line per survey, and NPS by segment, drawn by ECharts from answers given over weeks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from siyu.runtime import Runtime
from tests.surveys.test_nps_report import _answered_survey
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_the_surveys_list_draws_nps_over_time_and_by_segment(browser, live_server: str,  # noqa: F811
                                                            runtime: Runtime, client: Any, workspace: Any,
                                                            artifacts_dir: Path, backend: str) -> None:
    _answered_survey(client, workspace)
    email = f"nps-charts-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/surveys")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#nps-chart canvas")
    page.wait_for_selector("#segment-chart canvas")
    assert "NPS 趋势" in page.inner_text("main") and "各分群 NPS" in page.inner_text("main")
    drawn = page.evaluate("window.npsChart.getOption().series.map(s => [s.name, s.data])")
    assert drawn == [["购后 NPS", [25, 0]]]
    bars = page.evaluate("window.segmentChart.getOption().yAxis[0].data")
    assert bars == ["VIP", "普通客户"]
    page.screenshot(path=str(artifacts_dir / f"console-surveys-nps-{backend}.png"), full_page=True)
