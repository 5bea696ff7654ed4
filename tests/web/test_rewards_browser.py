"""The cash-rewards ledger page in a real browser (Debian's chromium through Playwright): figures per
state, each reason's budget, the rewards with state, amount, person and reason, and the filters —
over rewards decided through the API and paid through the fake WeChat Pay merchant."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from siyu import clock
from siyu.runtime import Runtime
from tests.conftest import make_workspace
from tests.payments.pay import merchant, person
from tests.web.test_browser import browser  # noqa: F401 - the fixture
from tests.web.test_pages import (
    PASSWORD,
    console_user,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.browser


def _reward(client, workspace, profile_id: int, key: str, reason: str, fen: int, **more) -> dict:  # noqa: ANN001
    made = client.post("/api/rewards", headers=workspace.bearer(), json={
        "profile_id": profile_id, "amount_fen": fen, "reason": reason, "wishing": "谢谢你", "act_name": "新客礼",
        "remark": "欢迎", "idempotency_key": key, **more})
    assert made.status_code == 201, made.text
    return made.json()


def _ledger(client, workspace) -> dict[str, dict]:  # noqa: ANN001
    """李娜 paid 1.88 (budget 3.00), 王芳 waiting for an openid, 张伟 refused: the budget is spent."""
    lina = person(client, workspace, "oLina", "李娜")
    wangfang = person(client, workspace, None, "王芳")
    zhangwei = person(client, workspace, "oZhangwei", "张伟")
    rewards = {"paid": _reward(client, workspace, lina, "r1", "campaign:spring", 188, budget_fen=300),
               "waiting": _reward(client, workspace, wangfang, "r2", "campaign:autumn", 100),
               "refused": _reward(client, workspace, zhangwei, "r3", "campaign:spring", 188)}
    sent = client.post("/api/rewards/send-due", headers=workspace.bearer())
    assert sent.status_code == 200 and sent.json().get("sent") == 1, sent.text
    return rewards


def test_read_the_ledger_with_its_figures_budgets_and_filters(browser, live_server: str,  # noqa: F811
                                                              runtime: Runtime, client, workspace,  # noqa: ANN001
                                                              artifacts_dir: Path, backend: str) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    email = f"rewards-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email, locale="en")
    with merchant(runtime, workspace) as pay:
        rewards = _ledger(client, workspace)
        assert len(pay.paid) == 1
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login?next=/rewards")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#rewards")
    assert page.locator("#rewards tbody tr").count() == 3
    assert page.inner_text("#reward-figures .card[data-status='sent'] .figure") == "1"
    assert "1.88" in page.inner_text("#reward-figures .card[data-status='sent'] .amount")
    assert "3.00" in page.inner_text("#budgets tr[data-reason='campaign:spring'] td.budget")
    assert "1.88" in page.inner_text("#budgets tr[data-reason='campaign:spring'] td.committed")
    refused = page.locator(f"#rewards tr[data-id='{rewards['refused']['id']}']")
    assert "Refused" in refused.locator("td.status").inner_text()
    assert "payments.budget_spent" in refused.locator("td.why").inner_text()
    assert "张伟" in refused.locator("td.customer").inner_text()
    page.screenshot(path=str(artifacts_dir / f"console-rewards-{backend}.png"), full_page=True)

    page.select_option("#filter-status", "sent")
    page.click("#reward-filters button[type=submit]")
    page.wait_for_url("**/rewards?status=sent**")
    rows = page.locator("#rewards tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-id") == str(rewards["paid"]["id"])
    assert "Sent" in rows.first.locator("td.status").inner_text()

    page.select_option("#filter-status", "")
    page.select_option("#filter-reason", "campaign:autumn")
    page.click("#reward-filters button[type=submit]")
    page.wait_for_url("**reason=campaign%3Aautumn**")
    rows = page.locator("#rewards tbody tr")
    assert rows.count() == 1 and "王芳" in rows.first.locator("td.customer").inner_text()
    assert "payments.no_openid" in rows.first.locator("td.why").inner_text()  # waiting for the openid

    page.select_option("#filter-reason", "")
    page.fill("#filter-profile", str(rewards["paid"]["profile_id"]))
    page.click("#reward-filters button[type=submit]")
    page.wait_for_url("**profile=**")
    assert page.locator("#rewards tbody tr").count() == 1


def test_the_page_in_chinese_and_another_workspace_sees_nothing(client, runtime: Runtime,  # noqa: ANN001
                                                               workspace) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with merchant(runtime, workspace):
        _ledger(client, workspace)
    other = make_workspace(runtime, "other")
    console_user(runtime, other.id, f"ops-{other.name}@brand.cn")
    assert sign_in(client, f"ops-{other.name}@brand.cn").status_code == 303
    page = client.get("/rewards")
    assert page.status_code == 200 and "现金红包" in page.text and 'id="no-rewards"' in page.text
    assert "李娜" not in page.text and 'id="no-budgets"' in page.text
    assert client.get("/rewards", params={"status": "bogus", "profile": "x", "before": "-1"}).status_code == 200


def test_a_channel_codes_reward_links_to_the_code(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from siyu.acquisition import channel_codes_store
    from siyu.db.engine import write

    with write(runtime.engine) as conn:
        code = channel_codes_store.create_code(conn, workspace.id, clock.now(), kind="wecom_contact", key="card",
                                               name="天猫包裹卡", caption=None, routing=None, welcome=None,
                                               tags=None, journey_id=None, expires_at=None)
    buyer = person(signed_in, workspace, None, "买家")
    _reward(signed_in, workspace, buyer, "c1", f"channel_code:{code['id']}", 188, budget_fen=18800)
    page = signed_in.get("/rewards")
    assert f'<a href="/codes/{code["id"]}">天猫包裹卡</a>' in page.text
    assert page.text.count(f'href="/codes/{code["id"]}"') == 2  # in the budgets and in the ledger
