"""Console pages for offers over HTTP: the list, the create form and the API call it makes (with a
refusal naming its field), one offer's figures per day and its claims, roles, other workspaces."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.offers.helpers import NOW, claim, make_offer
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _cell(html: str, row_id: int, name: str) -> str:
    row = re.search(rf'<tr data-id="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'class="{name}">(.*?)</td>', row, re.S).group(1).strip()


def test_the_list_and_the_create_form(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    listed = signed_in.get("/offers")
    assert listed.status_code == 200 and 'id="no-offers"' in listed.text and "券与奖励" in listed.text
    form = signed_in.get("/offers/new")
    assert form.status_code == 200 and 'id="offer-form"' in form.text and "满减券" in form.text
    headers = {"X-CSRF-Token": _data(form.text, "form-data")["csrf"]}
    refused = signed_in.post("/api/offers", headers=headers, json={"name": "满100减20", "kind": "threshold",
                                                                    "stock": 10, "threshold_fen": 10000,
                                                                    "amount_fen": 20000})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "amount_fen"
    made = signed_in.post("/api/offers", headers=headers, json={"name": "满100减20", "kind": "threshold", "stock": 10,
                                                                 "threshold_fen": 10000, "amount_fen": 2000})
    assert made.status_code == 201
    listed = signed_in.get("/offers").text
    offer_id = made.json()["id"]
    assert (_cell(listed, offer_id, "kind"), _cell(listed, offer_id, "remaining")) == ("满减券", "10")


def test_an_offer_page_shows_its_figures_per_day_and_its_claims(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                workspace) -> None:
    clock.freeze(NOW)
    offer = make_offer(runtime, workspace, name="新客立减", stock=5, per_person_limit=2, valid_days=7)
    got = [claim(runtime, workspace, offer.id, 7, "k0"), claim(runtime, workspace, offer.id, 7, "k1", amount_fen=733)]
    page = signed_in.get(f"/offers/{offer.id}")
    assert page.status_code == 200 and "新客立减" in page.text
    assert re.search(r'id="figure-claimed">2<', page.text) and re.search(r'id="figure-remaining">3<', page.text)
    assert _data(page.text, "chart-data")["labels"] == ["2026-11-30"]
    assert _cell(page.text, got[0].id, "status") == "未使用" and got[1].code in page.text
    assert _cell(page.text, got[0].id, "face-value") == "¥20.00"  # the offer's amount
    assert _cell(page.text, got[1].id, "face-value") == "¥7.33"  # the claim's own (a split coupon's share)
    assert 'id="end-offer"' in page.text and 'id="export"' in page.text
    headers = {"X-CSRF-Token": _data(page.text, "form-data")["csrf"]}
    assert signed_in.post(f"/api/offers/{offer.id}/end", headers=headers).status_code == 200
    assert "已结束" in signed_in.get(f"/offers/{offer.id}").text


def test_english_pages(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    offer = make_offer(runtime, workspace, kind="points", points=100, amount_fen=None)
    signed_in.post("/settings/language", data={"locale": "en", "csrf": _csrf(signed_in), "back": "/offers"})
    assert "Points reward" in signed_in.get("/offers").text
    assert "Nobody has claimed this offer yet." in signed_in.get(f"/offers/{offer.id}").text


def _csrf(client) -> str:  # noqa: ANN001
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/offers").text).group(1)


def test_an_analyst_reads_but_may_not_create_and_strangers_see_nothing(client, runtime: Runtime,  # noqa: ANN001
                                                                       workspace) -> None:
    email = f"analyst-{workspace.name}@brand.cn"
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD, display_name="分析师")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    offer = make_offer(runtime, workspace)
    elsewhere = make_offer(runtime, make_workspace(runtime, "other"))
    assert sign_in(client, email).status_code == 303
    assert client.get("/offers/new").status_code == 403
    page = client.get(f"/offers/{offer.id}")
    assert page.status_code == 200 and 'id="end-offer"' not in page.text
    assert client.get(f"/offers/{elsewhere.id}").status_code == 404
    assert client.get("/offers/999999999").status_code == 404
