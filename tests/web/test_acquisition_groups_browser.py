"""Group live codes in a real browser (Debian's chromium through Playwright): create a code with the
form, upload a group's QR image through the page (multipart), see it showing with its image loaded,
and open the community group it counts from — each outcome checked through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from siyu.channels.fakes.wecom import FakeWeCom
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from tests.acquisition.test_group_codes import qr_png
from tests.groups.scene import CORP, SECRET, T0, configure, member, push
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import PASSWORD, console_user

pytestmark = pytest.mark.browser


def test_create_a_live_code_upload_a_group_qr_and_open_its_group(browser, live_server: str,  # noqa: F811
                                                                 runtime: Runtime, client, workspace,  # noqa: ANN001
                                                                 artifacts_dir: Path, backend: str,
                                                                 tmp_path: Path) -> None:
    with FakeWeCom({CORP: SECRET}) as wecom:
        configure(runtime, workspace.id, wecom)
        wecom.set_group_chat("wrLive1", name="直播福利1群", owner="zhangsan",
                             members=[member("wmA", T0, scene=1, invitor="zhangsan"), member("wmB", T0)])
        push(runtime, workspace.id, "chat_create", "wrLive1")
        run_due(runtime)
    [group] = client.get("/api/groups", headers=workspace.bearer()).json()
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png("https://weixin.qq.com/g/live1"))
    email = f"groups-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/group-codes")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#no-group-codes")

    page.fill("#gc-name", "直播间群活码")
    page.fill("#gc-title", "完美日记直播福利群")
    page.select_option("#gc-strategy", "least_full")
    page.click("#create-group-code")
    page.wait_for_selector("#no-entries")
    code_id = int(page.url.rstrip("/").split("/")[-1])

    page.fill("#entry-label", "福利1群")
    page.click("#add-entry")  # no image: the API's refusal is shown on the form
    page.wait_for_function("document.getElementById('form-error').textContent.length > 0"
                           " || document.querySelector(\".field-error[data-for='image']\").textContent.length > 0")
    page.set_input_files("#entry-image", str(image))
    page.select_option("#entry-group", str(group["id"]))
    page.click("#add-entry")
    page.wait_for_selector("#entries")
    code = client.get(f"/api/group-codes/{code_id}", headers=workspace.bearer()).json()
    assert (code["name"], code["title"], code["strategy"]) == ("直播间群活码", "完美日记直播福利群", "least_full")
    [entry] = code["groups"]
    assert (entry["label"], entry["group_id"], entry["count"]) == ("福利1群", group["id"], 2)
    assert code["showing"] == entry["id"]
    row = f"#entries tr[data-id='{entry['id']}']"
    assert page.inner_text(f"{row} td.count") == "2 / 200" and page.is_visible(f"{row} .showing-now")
    assert page.evaluate(f"document.querySelector(\"{row} img\").naturalWidth") > 0  # the uploaded QR loads
    page.screenshot(path=str(artifacts_dir / f"console-group-code-{backend}.png"), full_page=True)

    page.click(f"{row} a")
    page.wait_for_selector("#members")
    assert page.inner_text("#group-name") == "直播福利1群" and page.inner_text("#member-count") == "2"
    page.wait_for_selector("#chart canvas")
    page.screenshot(path=str(artifacts_dir / f"console-group-{backend}.png"), full_page=True)
