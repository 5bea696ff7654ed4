"""Console pages for staff over HTTP: members and personas, a member's customers and today's tasks
(closed with a note through the API the page calls), hand-overs decided and listed with their
statuses, roles, other workspaces."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.journeys import task_store
from siyu.profiles import read_store
from siyu.runtime import Runtime
from siyu.staff import store as staff_store
from siyu.staff.models import StaffKind
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.staff.platforms import platforms
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

TEN = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _row(html: str, row_id: int) -> str:
    return re.search(rf'<tr data-id="{row_id}">(.*?)</tr>', html, re.S).group(1)


def _cell(row: str, name: str) -> str:
    return re.search(rf'class="{name}">(.*?)</td>', row, re.S).group(1)


def test_members_personas_customers_and_todays_tasks(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    clock.freeze(TEN)
    assert 'id="no-members"' in signed_in.get("/staff").text
    assert 'id="staff-form"' in signed_in.get("/staff").text and 'data-api="/api/staff"' in signed_in.get("/staff").text
    csrf = _data(signed_in.get("/staff/transfers").text, "form-data")["csrf"]
    headers = {"X-CSRF-Token": csrf}
    with platforms(runtime, signed_in, workspace) as fake:
        persona = signed_in.post("/api/staff", headers=headers, json={"kind": "persona", "name": "小完子",
                                                                     "signature": "完子心选主理人"}).json()
        member = signed_in.post("/api/staff", headers=headers, json={"userid": "wanzi_a", "name": "完子 A",
                                                                    "persona_id": persona["id"]}).json()
        person = fake.customer(signed_in, workspace, "wanzi_a", "wmPage1", state="tmall_card")
    with write(runtime.engine) as conn:
        read_store.save_profile_traits(conn, workspace.id, person, {"name": "林娜"}, {}, clock.now())
        task = task_store.create_task(conn, workspace.id, profile_id=person, title="回访", note="问问使用感受",
                                      due_at=clock.now() + timedelta(hours=5), source="journey:1", source_key="p1",
                                      now=clock.now())
        task_store.create_task(conn, workspace.id, profile_id=person, title="下周", note=None,
                               due_at=clock.now() + timedelta(days=7), source="journey:1", source_key="p2",
                               now=clock.now())
    listed = signed_in.get("/staff").text
    row = _row(listed, member["id"])
    assert "完子 A" in row and "小完子" in _cell(row, "persona") and _cell(row, "customers") == "1"
    assert _cell(row, "status") == "在职" and "完子 A" in _cell(_row(listed, persona["id"]), "members")

    page = signed_in.get(f"/staff/{member['id']}").text
    assert f'<tr data-profile="{person}"><td><a href="/profiles/{person}">林娜</a>' in page
    assert "tmall_card" in page and "客户添加" in page
    assert f'data-api="/api/staff-tasks/{task}/result"' in page and "下周" not in page  # due next week: not today
    assert 'id="mark-left"' in page
    done = signed_in.post(f"/api/staff-tasks/{task}/result", headers=headers,
                          json={"status": "done", "note": "已回访，很满意", "userid": "wanzi_a"})
    assert done.status_code == 200
    page = signed_in.get(f"/staff/{member['id']}").text
    assert re.search(rf'data-id="{task}" data-status="done">', page) and "备注: 已回访，很满意" in page
    assert 'class="task-form"' not in page
    persona_page = signed_in.get(f"/staff/{persona['id']}").text  # a persona: its members' customers and tasks
    assert f'<tr data-profile="{person}">' in persona_page and 'id="persona-members"' in persona_page


def test_a_hand_over_is_decided_through_the_api_and_listed_with_its_status(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                            workspace) -> None:
    clock.freeze(TEN)
    with platforms(runtime, signed_in, workspace) as fake:
        person = fake.customer(signed_in, workspace, "zhangsan", "wmHand1")
        page = signed_in.get("/staff/transfers")
        data = _data(page.text, "form-data")
        assert 'id="no-transfers"' in page.text and data["idempotency_key"].startswith("console-")
        assert '<option value="zhangsan">' in page.text
        headers = {"X-CSRF-Token": data["csrf"]}
        lisi = signed_in.post("/api/staff", headers=headers, json={"userid": "lisi", "name": "李四"})
        assert lisi.status_code == 201
        body = {"kind": "resigned", "handover_userid": "zhangsan", "takeover_userid": "lisi",
                "idempotency_key": data["idempotency_key"]}
        refused = signed_in.post("/api/customer-transfers", headers=headers, json=body)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "staff.not_left"
        decided = signed_in.post("/api/customer-transfers", headers=headers, json={
            **body, "kind": "in_service", "message": "您好，之后由同事李四为您服务"})
        assert decided.status_code == 201, decided.text
        transfer = decided.json()["transfers"][0]["id"]
        html = signed_in.get("/staff/transfers").text
        assert _cell(_row(html, transfer), "status") == "已决定" and _cell(_row(html, transfer), "kind") == "在职转接"
        assert signed_in.post("/api/customer-transfers/sync", headers=headers).json()["submitted"] == 1
        html = signed_in.get("/staff/transfers").text
        assert _cell(_row(html, transfer), "status") == "等待企业微信" and f'href="/profiles/{person}"' in html


def test_an_analyst_sees_staff_but_no_buttons(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    with write(runtime.engine) as conn:
        member = staff_store.create_staff(conn, workspace.id, kind=StaffKind.MEMBER, name="王五", userid="wangwu",
                                          avatar_url=None, signature=None, department="华东", persona_id=None,
                                          now=clock.now())
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    assert "王五" in client.get("/staff").text and 'id="staff-form"' not in client.get("/staff").text
    page = client.get(f"/staff/{member.id}").text
    assert 'id="mark-left"' not in page and 'id="no-tasks"' in page
    transfers = client.get("/staff/transfers").text
    assert 'id="transfer-form"' not in transfers and 'id="no-transfers"' in transfers


def test_another_workspaces_staff_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    with write(runtime.engine) as conn:
        theirs = staff_store.create_staff(conn, other.id, kind=StaffKind.MEMBER, name="theirs", userid="theirs",
                                          avatar_url=None, signature=None, department=None, persona_id=None,
                                          now=clock.now())
    assert signed_in.get(f"/staff/{theirs.id}").status_code == 404
    assert "theirs" not in signed_in.get("/staff").text and "theirs" not in signed_in.get("/staff/transfers").text
    assert signed_in.get("/staff/abc").status_code == 404


def test_staff_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/staff", "/staff/transfers", "/staff/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
