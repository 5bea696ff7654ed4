"""Console pages for distribution over HTTP: promoters with their figures, one promoter's page, the
plan editor, the ledger with exports; zh-CN and en; roles; another workspace sees nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from siyu import clock
from siyu.db.engine import write
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.growth.test_distribution_steps import follow, order, person, process, promoter, refund, staff_member
from tests.web.test_pages import (
    PASSWORD,
    csrf_of,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def _row(html: str, row_id: int) -> str:
    return re.search(rf'<tr data-id="{row_id}">(.*?)</tr>', html, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'class="{name}">(.*?)</td>', row, re.S).group(1)


def _world(client, workspace):  # noqa: ANN001, ANN202
    clock.freeze(T0)
    lead = promoter(client, workspace, kind="staff", staff_id=staff_member(client, workspace, "zhao", "赵店长"),
                    landing_url="https://shop.example.com/")
    koc = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "小红"), parent_id=lead["id"])
    person(client, workspace, "buyer")
    ref, _, _ = follow(client, koc["token"])
    order(client, workspace, "P1", 200, user_id="buyer", siyu_ref=ref)
    order(client, workspace, "P2", 100, user_id="buyer")
    process(client, workspace)
    refund(client, workspace, "P2", "buyer")
    process(client, workspace)
    return lead, koc


def test_promoters_their_page_the_plan_and_the_ledger_in_chinese(signed_in, client, workspace) -> None:  # noqa: ANN001, F811
    lead, koc = _world(client, workspace)
    page = signed_in.get("/distribution")
    assert page.status_code == 200 and 'href="/distribution"' in page.text and "分销员" in page.text
    row = _row(page.text, koc["id"])
    assert "小红" in row and "赵店长" in _cell(row, "parent") and _cell(row, "touches") == "1"
    assert _cell(row, "orders") == "2" and "20.00" in _cell(row, "pending") and "10.00" in _cell(row, "reversed")
    assert 'id="promoter-form"' in page.text and "赵店长" in page.text
    detail = signed_in.get(f"/distribution/promoters/{koc['id']}")
    assert detail.status_code == 200 and f"/p/{koc['token']}" in detail.text and 'id="qr"' in detail.text
    assert "退款调整" not in detail.text and "已冲回" in detail.text and 'id="parent-form"' in detail.text
    rules = signed_in.get("/distribution/rules")
    assert rules.status_code == 200 and "《禁止传销条例》" in rules.text and 'value="10"' in rules.text
    ledger = signed_in.get("/distribution/ledger", params={"promoter_id": koc["id"], "status": ""})
    assert ledger.status_code == 200 and "P1" in ledger.text and 'id="export-csv"' in ledger.text
    assert 'id="payout-form"' not in ledger.text  # an operator does not pay; an owner does
    pending = signed_in.get("/distribution/ledger", params={"status": "pending"}).text
    assert "<td>P1" in pending and "<td>P2" not in pending  # order cells (a CSRF token may hold "P2")
    assert signed_in.get("/distribution/promoters/999999").status_code == 404
    exported = signed_in.get("/api/commissions/export", params={"format": "csv", "promoter_id": koc["id"]})
    assert exported.status_code == 200 and "P1" in exported.content.decode("utf-8-sig")


def test_english_pages_and_a_plan_saved_through_the_api_with_the_session(signed_in, client, workspace) -> None:  # noqa: ANN001, F811
    _world(client, workspace)
    csrf = json.loads(re.search(r'id="form-data" type="application/json">(.*?)</script>',
                                signed_in.get("/distribution").text, re.S).group(1))["csrf"]
    signed_in.post("/settings/language", data={"locale": "en", "csrf": csrf_of(signed_in.get("/distribution").text)})
    page = signed_in.get("/distribution/rules")
    assert "Commission plan" in page.text and "Pyramid Selling" in page.text
    refused = signed_in.put("/api/commissions/plan", headers={"X-CSRF-Token": csrf}, json={
        "levels": [{"default_rate": 0.1}, {"default_rate": 0.05}, {"default_rate": 0.01}]})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "distribution.too_many_levels"
    saved = signed_in.put("/api/commissions/plan", headers={"X-CSRF-Token": csrf}, json={
        "levels": [{"default_rate": "0.12", "rates": [{"category": "护肤", "rate": "0.2"}]}], "refund_days": 3})
    assert saved.status_code == 200
    page = signed_in.get("/distribution/rules")
    assert 'value="12"' in page.text and "category 护肤 20" in page.text and 'value="3"' in page.text
    assert "Pending" in signed_in.get("/distribution/ledger").text


def test_an_owner_may_pay_and_another_workspace_sees_nothing(client, runtime, workspace) -> None:  # noqa: ANN001
    _, koc = _world(client, workspace)
    other = make_workspace(runtime, "other")
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, f"owner-{workspace.name}@brand.cn", PASSWORD, locale="zh_CN")
        workspace_store.add_member(conn, workspace.id, user.id, Role.OWNER)
    assert sign_in(client, f"owner-{workspace.name}@brand.cn").status_code == 303
    with write(runtime.engine) as conn:
        workspace_store.add_member(conn, other.id, user.id, Role.OWNER)
    assert 'id="payout-form"' in client.get("/distribution/ledger").text
    page = client.get("/distribution")
    switched = client.post("/workspaces", data={"workspace_id": other.id, "csrf": csrf_of(page.text)},
                           follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/"
    assert 'id="no-promoters"' in client.get("/distribution").text
    assert client.get(f"/distribution/promoters/{koc['id']}").status_code == 404
    assert "<td>P1" not in client.get("/distribution/ledger").text  # no order cell (a CSRF token may hold "P1")
