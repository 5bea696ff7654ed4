"""The group live code page in a real phone-sized browser (Debian's chromium through Playwright):
it shows a group's QR, moves on to the next group when the first is full, says so kindly when none is
left, and switches language."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.runtime import Runtime
from tests.acquisition.test_group_codes import qr_png
from tests.web.test_browser import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_the_live_code_page_on_a_phone(browser, live_server: str, runtime: Runtime, workspace, client,  # noqa: F811
                                       artifacts_dir: Path, backend: str) -> None:
    auth = workspace.bearer()
    code = client.post("/api/group-codes", json={"name": "直播间群活码", "title": "完美日记直播福利群"},
                       headers=auth).json()
    for label in ("福利1群", "福利2群"):
        added = client.post(f"/api/group-codes/{code['id']}/groups", headers=auth, data={"label": label},
                            files={"image": ("qr.png", qr_png(label), "image/png")})
        assert added.status_code == 201, added.text
    first, second = (g["id"] for g in added.json()["groups"])
    url = f"{live_server}/g/{code['token']}"

    page = browser.new_page(locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page.goto(url)
    page.wait_for_selector("#group-qr")
    assert page.inner_text("#group-label") == "福利1群" and page.inner_text("h1") == "完美日记直播福利群"
    assert page.evaluate("document.getElementById('group-qr').naturalWidth") > 0  # the QR image really loaded
    box = page.locator("#group-qr").bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]  # fits the phone
    page.screenshot(path=str(artifacts_dir / f"group-code-page-{backend}.png"), full_page=True)

    client.patch(f"/api/group-codes/{code['id']}/groups/{first}", json={"manual_count": 200}, headers=auth)
    page.reload()
    page.wait_for_selector("#group-qr")
    assert page.inner_text("#group-label") == "福利2群"
    assert f"/qr/{second}" in page.get_attribute("#group-qr", "src")

    client.patch(f"/api/group-codes/{code['id']}/groups/{second}", json={"manual_count": 200}, headers=auth)
    page.reload()
    page.wait_for_selector("#none-left")
    assert "群已满" in page.inner_text("#none-left") and page.locator("#group-qr").count() == 0
    page.screenshot(path=str(artifacts_dir / f"group-code-none-left-{backend}.png"), full_page=True)

    page.reload()
    page.click("#switch-language")
    page.wait_for_selector("html[lang=en]")
    assert "All groups are full" in page.inner_text("#none-left")
    alerts = client.get(f"/api/group-codes/{code['id']}/alerts", headers=auth).json()
    assert [a["kind"] for a in alerts] == ["exhausted"]  # once, though the page was opened after it twice
