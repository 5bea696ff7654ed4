"""The segment builder and the scores page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user, customers

pytestmark = pytest.mark.browser


def test_build_a_segment_watch_the_count_save_it_and_read_the_scores(browser, live_server: str,  # noqa: F811
                                                                    runtime: Runtime, workspace,
                                                                    artifacts_dir: Path, backend: str) -> None:
    email = f"segments-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)  # 李娜 (one order, tagged 口红爱好者) and 王芳
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/segments")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#builder")
    row = page.locator("#conditions .condition").first
    row.locator("select.kind").select_option("tag")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    row.locator("select.op").select_option("has_not")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    page.click("#add-condition")
    second = page.locator("#conditions .condition").nth(1)
    second.locator("select.kind").select_option("trait")
    second.locator("input.key").fill("name")
    second.locator("input.value").fill("王芳")
    page.wait_for_function("document.getElementById('definition').value.includes('王芳')")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    second.locator("select.op").select_option("ne")
    page.wait_for_function("document.getElementById('count').textContent === '0'")
    second.locator("select.op").select_option("eq")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    assert second.locator("select.op option:checked").inner_text() == "等于"  # labels shown, codes sent
    assert row.locator("select.kind option:checked").inner_text() == "标签"
    page.click("#add-condition")
    third = page.locator("#conditions .condition").nth(2)
    third.locator("select.kind").select_option("rollup")
    third.locator("select.key").select_option(label="订单数")
    third.locator("select.op").select_option(label="小于或等于")
    third.locator("input.value").fill("0")
    page.wait_for_function("document.getElementById('definition').value.includes('\"lte\"')")
    page.wait_for_function("document.getElementById('count').textContent === '1'")  # 王芳 never ordered
    page.screenshot(path=str(artifacts_dir / f"console-segment-builder-{backend}.png"), full_page=True)
    page.fill("#new-segment-name", "非口红爱好者")
    page.click("#save button[type=submit]")
    page.wait_for_selector("h1#segment-name")
    assert page.inner_text("#segment-name") == "非口红爱好者"
    assert page.inner_text("#count") == "1" and page.inner_text("#size") == "1"
    page.wait_for_selector("#chart canvas")
    page.screenshot(path=str(artifacts_dir / f"console-segment-{backend}.png"), full_page=True)

    page.click("header nav >> text=RFM 与生命周期")
    page.wait_for_selector("#lifecycle-chart canvas")
    assert "重要价值客户" in page.inner_text("#rfm-segments")


def test_a_named_score_is_chosen_by_its_label_in_english(browser, live_server: str, runtime: Runtime,  # noqa: F811
                                                        workspace) -> None:
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import scoring

    email = f"scores-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email, locale="en")
    customers(runtime, workspace.id)
    with write(runtime.engine) as conn:
        scoring.compute_all(conn, workspace.id, clock.now(), {})  # 李娜 is a new customer; 王芳 has no stage
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/segments")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    row = page.locator("#conditions .condition").first
    row.locator("select.kind").select_option(label="Score")
    row.locator("select.key").select_option(label="Lifecycle stage")
    row.locator("select.op").select_option(label="is one of")
    row.locator("select.choice").select_option(label=["New", "Won back"])
    page.wait_for_function("document.getElementById('definition').value.includes('won_back')")
    page.wait_for_function("document.getElementById('count').textContent === '1'")
    definition = page.eval_on_selector("#definition", "e => JSON.parse(e.value)")
    assert definition == {"score": "lifecycle_stage", "op": "in", "value": ["new", "won_back"]}
    row.locator("select.op").select_option(label="equals")
    row.locator("select.choice").select_option(label="Churned")
    page.wait_for_function("document.getElementById('count').textContent === '0'")
    row.locator("select.op").select_option(label="is missing")
    page.wait_for_function("document.getElementById('count').textContent === '1'")  # 王芳
    assert row.locator("select.choice").count() == 0
