"""The channel report and channel spend, hand-counted, on both databases (the clock stands at 2024-03-20)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from siyu.analytics.reports.channels import months_of
from siyu.analytics.reports.errors import InvalidParameter
from siyu.analytics.reports.models import DateRange, parse_channels, parse_spend
from siyu.analytics.reports.run import report_context, run_report
from siyu.runtime import Runtime
from siyu.workspaces.models import KeyKind, Role
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_retention import cli
from tests.analytics.test_reports_scenario import NOW, ORDER, open_shop, track

RANGE = {"from": "2024-01-01", "to": "2024-03-20"}
SPEND = [
    ("xiaohongshu", "2024-01", 1000),
    ("xiaohongshu", "2024-02", 500),
    ("douyin", "2024-03", 600),
    ("wechat", "2024-02", 200),
    ("xiaohongshu", "2023-12", 999),
]


def newcomers() -> list[dict]:
    """a 小红书 01-05, back 01-20 (day 15), orders ¥100 01-10 and ¥50 03-01 · b 小红书 01-10, back only on day 36 ·
    c 抖音 02-01, orders ¥300 that day · d 抖音 03-10 (first 30 days not over) · e no channel 02-20 · f seen in 2023."""
    return [
        track("a", "Page Viewed", "2024-01-05", channel="xiaohongshu"),
        track("a", "Page Viewed", "2024-01-20"),
        track("a", ORDER, "2024-01-10", total=100),
        track("a", ORDER, "2024-03-01", total=50),
        track("b", "Page Viewed", "2024-01-10", channel="xiaohongshu"),
        track("b", "Page Viewed", "2024-02-15"),
        track("c", "Page Viewed", "2024-02-01", 9, channel="douyin"),
        track("c", ORDER, "2024-02-01", 12, total=300),
        track("d", "Page Viewed", "2024-03-10", channel="douyin"),
        track("d", "Page Viewed", "2024-03-12"),
        track("e", "Page Viewed", "2024-02-20"),
        track("f", "Page Viewed", "2023-12-01", channel="tmall"),
        track("f", ORDER, "2024-01-03", total=70),
    ]


def enter_spend(client, headers: dict[str, str]) -> None:  # noqa: ANN001
    for channel, month, amount in SPEND:
        response = client.put(
            "/api/reports/channel-spend", json={"channel": channel, "month": month, "amount": amount}, headers=headers
        )
        assert response.status_code == 200, response.text


def test_new_customers_per_channel_with_retention_revenue_and_cost(client, runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, newcomers())
    enter_spend(client, workspace.bearer())
    body = client.get("/api/reports/channels", params=RANGE, headers=workspace.bearer()).json()
    assert body["months"] == ["2024-01", "2024-02", "2024-03"]
    shown = [
        (
            r["channel"],
            r["new_customers"],
            r["matured_30d"],
            r["returned_30d"],
            r["retention_30d"],
            r["buyers_90d"],
            r["revenue_90d"],
            r["spend"],
            r["cost_per_customer"],
        )
        for r in body["rows"]
    ]
    assert shown == [
        ("douyin", 2, 1, 0, 0.0, 1, 300.0, 600.0, 300.0),
        ("xiaohongshu", 2, 2, 1, 0.5, 1, 150.0, 1500.0, 750.0),
        ("unknown", 1, 0, 0, None, 0, 0.0, None, None),
        ("wechat", 0, 0, 0, None, 0, 0.0, 200.0, None),
    ]
    total = body["total"]
    assert (
        total["new_customers"],
        total["retention_30d"],
        total["revenue_90d"],
        total["spend"],
        total["cost_per_customer"],
    ) == (5, 0.3333, 450.0, 2300.0, 460.0)


def test_spend_for_a_month_is_replaced_not_added(client, runtime: Runtime, workspace) -> None:
    enter_spend(client, workspace.bearer())
    replaced = client.put(
        "/api/reports/channel-spend",
        json={"channel": "douyin", "month": "2024-03", "amount": 900},
        headers=workspace.bearer(),
    )
    assert replaced.json()["amount"] == 900.0
    listed = client.get("/api/reports/channel-spend", headers=workspace.bearer()).json()
    assert [(e["channel"], e["month"], e["amount"]) for e in listed][:2] == [
        ("douyin", "2024-03", 900.0),
        ("wechat", "2024-02", 200.0),
    ]
    assert len(listed) == 5
    result = cli(
        runtime,
        "set-spend",
        "--workspace",
        workspace.name,
        "--channel",
        "douyin",
        "--month",
        "2024-03",
        "--amount",
        "750.5",
    )
    assert result.exit_code == 0 and "750.50 CNY" in result.output
    assert client.get("/api/reports/channel-spend", headers=workspace.bearer()).json()[0]["amount"] == 750.5


def test_spend_needs_the_import_permission_and_valid_values(client, runtime: Runtime, workspace) -> None:
    from siyu.db.engine import write
    from siyu.workspaces import store

    with write(runtime.engine) as conn:
        _, analyst = store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.ANALYST)
    body = {"channel": "douyin", "month": "2024-03", "amount": 1}
    refused = client.put("/api/reports/channel-spend", json=body, headers={"Authorization": f"Bearer {analyst}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.forbidden"
    for wrong, parameter in (
        ({"month": "2024-13"}, "month"),
        ({"amount": -5}, "amount"),
        ({"channel": " "}, "channel"),
    ):
        response = client.put("/api/reports/channel-spend", json={**body, **wrong}, headers=workspace.bearer())
        assert response.status_code == 400, response.text
        assert response.json()["error"]["details"]["parameter"] == parameter
    result = cli(
        runtime, "set-spend", "--workspace", workspace.name, "--channel", "x", "--month", "March", "--amount", "1"
    )
    assert result.exit_code == 2 and "month must be written YYYY-MM" in result.output


def test_a_late_event_with_an_old_timestamp_appears_in_the_next_report(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, newcomers())
    context = report_context(runtime, workspace.id)
    query = parse_channels(start=RANGE["from"], end=RANGE["to"], today=context.today)
    assert run_report(context, query).as_dict()["total"]["returned_30d"] == 1
    send(runtime, workspace.id, [track("b", "Page Viewed", "2024-01-25"), track("c", ORDER, "2024-02-05", total=5)])
    total = run_report(context, query).as_dict()["total"]
    assert (total["returned_30d"], total["revenue_90d"]) == (3, 455.0)


def test_another_workspace_sees_nothing(client, runtime: Runtime, workspace, other_workspace) -> None:
    open_shop(runtime, workspace.id, newcomers())
    enter_spend(client, workspace.bearer())
    body = client.get("/api/reports/channels", params=RANGE, headers=other_workspace.bearer()).json()
    assert body["rows"] == [] and body["total"]["new_customers"] == 0 and body["total"]["spend"] is None
    assert client.get("/api/reports/channel-spend", headers=other_workspace.bearer()).json() == []


def test_the_exports_and_the_cli_give_the_same_numbers(client, runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, newcomers())
    body = client.get("/api/reports/channels", params=RANGE, headers=workspace.bearer()).json()
    exported = client.get("/api/reports/channels", params={**RANGE, "format": "csv"}, headers=workspace.bearer())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["channel"], int(r["new_customers"]), float(r["revenue_90d"])) for r in rows] == [
        (r["channel"], r["new_customers"], r["revenue_90d"]) for r in [*body["rows"], body["total"]]
    ]
    printed = cli(
        runtime, "channels", "--workspace", workspace.name, "--from", RANGE["from"], "--to", RANGE["to"], "--json"
    )
    assert printed.exit_code == 0 and json.loads(printed.stdout)["rows"] == body["rows"]


def test_months_of_a_range_and_spend_validation() -> None:
    assert months_of(DateRange(NOW.date().replace(month=11, day=30), NOW.date().replace(year=2025, day=1))) == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
        "2025-03",
    ]
    with pytest.raises(InvalidParameter):
        parse_spend(channel="x", month="2024-00", amount=1)
    assert parse_spend(channel=" douyin ", month="2024-03", amount=10.005).channel == "douyin"
