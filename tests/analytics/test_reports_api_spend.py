"""Removing channel spend over the API: what the console's delete button does, with the API's rules."""

from __future__ import annotations

from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store
from siyu.workspaces.models import KeyKind, Role
from tests.analytics.test_reports_channels import RANGE, SPEND, enter_spend, newcomers
from tests.analytics.test_reports_scenario import open_shop

URL = "/api/reports/channel-spend"


def test_removing_a_month_takes_it_out_of_the_cost_per_customer(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    open_shop(runtime, workspace.id, newcomers())
    enter_spend(client, workspace.bearer())
    removed = client.delete(URL, params={"channel": "xiaohongshu", "month": "2024-01"}, headers=workspace.bearer())
    assert removed.status_code == 200
    assert removed.json() == {"channel": "xiaohongshu", "month": "2024-01", "deleted": True}
    listed = client.get(URL, headers=workspace.bearer()).json()
    assert ("xiaohongshu", "2024-01") not in {(e["channel"], e["month"]) for e in listed}
    assert len(listed) == len(SPEND) - 1
    body = client.get("/api/reports/channels", params=RANGE, headers=workspace.bearer()).json()
    xiaohongshu = next(r for r in body["rows"] if r["channel"] == "xiaohongshu")
    assert (xiaohongshu["spend"], xiaohongshu["cost_per_customer"]) == (500.0, 250.0)
    again = client.delete(URL, params={"channel": "xiaohongshu", "month": "2024-01"}, headers=workspace.bearer())
    assert again.status_code == 200 and again.json()["deleted"] is False


def test_removing_needs_the_import_permission_and_a_valid_month(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    enter_spend(client, workspace.bearer())
    with write(runtime.engine) as conn:
        _, analyst = store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.ANALYST)
    refused = client.delete(URL, params={"channel": "douyin", "month": "2024-03"},
                            headers={"Authorization": f"Bearer {analyst}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
    for params, parameter in (({"channel": "douyin", "month": "2024-13"}, "month"),
                              ({"channel": " ", "month": "2024-03"}, "channel")):
        response = client.delete(URL, params=params, headers=workspace.bearer())
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "reports.invalid_parameter" and error["details"]["parameter"] == parameter
    missing = client.delete(URL, params={"channel": "douyin"}, headers=workspace.bearer())
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "request.invalid"
    assert len(client.get(URL, headers=workspace.bearer()).json()) == len(SPEND)


def test_another_workspace_cannot_remove_spend(client, workspace, other_workspace) -> None:  # noqa: ANN001
    enter_spend(client, workspace.bearer())
    attempt = client.delete(URL, params={"channel": "douyin", "month": "2024-03"}, headers=other_workspace.bearer())
    assert attempt.status_code == 200 and attempt.json()["deleted"] is False
    assert len(client.get(URL, headers=workspace.bearer()).json()) == len(SPEND)
