"""The review queue page over HTTP: what waits and why (zh-CN and en), approve / reject through the
API with the console's CSRF token, tabs, roles, and other workspaces."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.growth.test_fraud_api import decided
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _row(html: str, row_id: int) -> str:
    return re.search(rf'<tr data-id="{row_id}">(.*?)\n      </tr>', html, re.S).group(1)  # past the facts' table


def test_the_queue_shows_what_waits_and_why_and_resolves_through_the_api(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                           workspace) -> None:
    clock.freeze(T0)
    empty = signed_in.get("/growth/reviews")
    assert empty.status_code == 200 and 'id="no-reviews"' in empty.text and "风控审核" in empty.text
    first, second = decided(runtime, workspace, "p1"), decided(runtime, workspace, "p2")
    page = signed_in.get("/growth/reviews").text
    row = _row(page, first)
    assert "同一设备上被邀请人过多" in row and "3 invitees on one device." in row and "待审核" in row
    assert 'class="approve"' in row and "(2)" in page
    headers = {"X-CSRF-Token": _data(page, "form-data")["csrf"]}
    assert signed_in.post(f"/api/growth/reviews/{first}/approve", headers=headers,
                          json={"note": "同一家人"}).status_code == 200
    assert signed_in.post(f"/api/growth/reviews/{second}/reject", headers=headers).status_code == 200
    assert 'id="no-reviews"' in signed_in.get("/growth/reviews").text
    approved = _row(signed_in.get("/growth/reviews?status=approved").text, first)
    assert "已通过" in approved and "同一家人" in approved and 'class="approve"' not in approved
    assert "运营小王 (ops-" in approved  # the console user who approved, by name
    everything = signed_in.get("/growth/reviews?status=all").text
    assert "已驳回" in _row(everything, second)
    assert signed_in.get("/growth/reviews?status=nonsense").status_code == 200  # the default tab


def test_english(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    clock.freeze(T0)
    decision_id = decided(runtime, workspace, "e1")
    csrf = re.search(r'name="csrf" value="([^"]+)"', signed_in.get("/growth/reviews").text).group(1)
    signed_in.post("/settings/language", data={"locale": "en", "csrf": csrf, "back": "/growth/reviews"})
    page = signed_in.get("/growth/reviews").text
    assert "Review queue" in page and "Many invitees on one device" in _row(page, decision_id)


def test_an_analyst_reads_without_buttons_and_strangers_see_nothing(client, runtime: Runtime,  # noqa: ANN001
                                                                     workspace) -> None:
    clock.freeze(T0)
    email = f"analyst-{workspace.name}@brand.cn"
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD, display_name="分析师")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    mine = decided(runtime, workspace, "a1")
    elsewhere = decided(runtime, make_workspace(runtime, "other"), "a2")
    assert sign_in(client, email).status_code == 303
    page = client.get("/growth/reviews").text
    assert 'class="approve"' not in _row(page, mine)
    assert elsewhere != mine and f'data-id="{elsewhere}"' not in page
    csrf = _data(page, "form-data")["csrf"]
    refused = client.post(f"/api/growth/reviews/{mine}/approve", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403


def test_the_page_needs_a_signed_in_user(client) -> None:  # noqa: ANN001
    response = client.get("/growth/reviews", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_facts_behind_a_decision_and_the_campaign_filter(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from siyu.growth import fraud_store
    from siyu.growth.fraud import FraudDecision, InviteFacts, Reason, Verdict

    clock.freeze(T0)
    facts = InviteFacts(inviter_profile_id=10, invitee_profile_id=11, invited_at=T0, invitee_first_seen_at=T0,
                        invitee_merged_profiles=2, device_cluster_size=4, ip_cluster_size=6, phone_cluster_size=1,
                        invites_last_hour=12, invites_last_day=30)
    with write(runtime.engine) as conn:
        held = fraud_store.record_decision(
            conn, workspace.id, campaign_id=42, subject_kind="test", subject_id="f1", inviter_profile_id=10,
            invitee_profile_id=11, decision=FraudDecision(Verdict.REVIEW, 60, [Reason("device_cluster", 40, "4.")]),
            now=T0, facts=facts)
    other = decided(runtime, workspace, "f2")  # campaign 3
    page = signed_in.get("/growth/reviews").text
    row = _row(page, held)
    assert "判断依据" in row and ">4 / 6 / 1<" in row and ">12 / 30<" in row and ">2<" in row
    assert "2026年11月30日 20:00" in row  # first seen, in the workspace's time zone (Asia/Shanghai)
    only = signed_in.get("/growth/reviews?campaign=42").text
    assert f'data-id="{held}"' in only and f'data-id="{other}"' not in only and 'id="campaign-filter"' in only
    assert "&amp;campaign=42" in only or "&campaign=42" in only
