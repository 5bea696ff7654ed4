"""The console's survey pages without a browser: the list and the report render for the workspace's own
surveys, another workspace's survey is not found, and roles without messages:send get no form."""

from __future__ import annotations

from typing import Any

from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.web.test_pages import PASSWORD, console_user, sign_in


def _login(client: Any, runtime: Runtime, workspace: Any, role: str = "operator") -> None:
    email = f"{role}-{workspace.name}@brand.cn"
    if role == "operator":
        console_user(runtime, workspace.id, email)
    else:
        with write(runtime.engine) as conn:
            user = workspace_store.create_user(conn, email, PASSWORD, display_name="分析师")
            workspace_store.add_member(conn, workspace.id, user.id, Role(role))
    answer = sign_in(client, email)
    assert answer.status_code in (302, 303), answer.text


def test_list_report_and_tenancy(runtime: Runtime, client: Any, workspace: Any, other_workspace: Any) -> None:
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "售后 NPS"}).json()
    theirs = client.post("/api/surveys", headers=other_workspace.bearer(), json={"name": "别人的"}).json()
    _login(client, runtime, workspace)
    listed = client.get("/surveys")
    assert listed.status_code == 200 and "售后 NPS" in listed.text and 'id="survey-form"' in listed.text
    assert "别人的" not in listed.text
    shown = client.get(f"/surveys/{survey['id']}?by=month")
    assert shown.status_code == 200 and 'id="chart-empty"' in shown.text
    assert client.get(f"/surveys/{theirs['id']}").status_code == 404
    assert client.get(f"/surveys/{survey['id']}?segment=999999").status_code == 404


def test_an_analyst_reads_but_gets_no_form(runtime: Runtime, client: Any, workspace: Any) -> None:
    _login(client, runtime, workspace, role="analyst")
    page = client.get("/surveys")
    assert page.status_code == 200 and 'id="survey-form"' not in page.text
