"""Revenue per period and the repurchase rate, hand-counted, on both databases."""

from __future__ import annotations

import csv
import io
import json

from openpyxl import load_workbook

from siyu.analytics.reports.models import parse_repurchase, parse_revenue
from siyu.analytics.reports.run import report_context, run_report
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_retention import cli
from tests.analytics.test_reports_scenario import ORDER, open_shop, track

RANGE = {"start": "2024-01-01", "end": "2024-03-20"}


def orders() -> list[dict]:
    """a: 01-15 ¥100 + ¥50 (one day), 02-03 ¥80 (as `revenue`) · b: 01-31 23:00 ¥200, 03-01 00:00 ¥20 ·
    c: 2023-12-20 ¥10 (first order before the range), 02-10 ¥30 · d: 02-14 ¥60 ("60") and an order without amount."""
    return [
        track("a", ORDER, "2024-01-15", total=100),
        track("a", ORDER, "2024-01-15", 18, total=50),
        track("a", ORDER, "2024-02-03", revenue=80),
        track("b", ORDER, "2024-01-31", 23, total=200),
        track("b", ORDER, "2024-03-01", 0, total=20),
        track("c", ORDER, "2023-12-20", total=10),
        track("c", ORDER, "2024-02-10", total=30),
        track("d", ORDER, "2024-02-14", total="60"),
        track("d", ORDER, "2024-02-14", 20),
        track("e", "Page Viewed", "2024-03-10"),
    ]


def run(runtime: Runtime, workspace_id: int, parse, **parameters: str | None) -> dict:  # noqa: ANN001
    context = report_context(runtime, workspace_id)
    return run_report(context, parse(**parameters, today=context.today)).as_dict()


def figures(rows: list[dict]) -> list[tuple]:
    return [(r["period"], r["revenue"], r["orders"], r["buyers"], r["average_order_value"], r["partial"]) for r in rows]


def test_revenue_orders_buyers_and_aov_per_month_in_local_time(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, orders())
    report = run(runtime, workspace.id, parse_revenue, **RANGE, period="month")
    assert figures(report["rows"]) == [
        ("2024-01", 350.0, 3, 2, 116.67, False),
        ("2024-02", 170.0, 4, 3, 42.5, False),
        ("2024-03", 20.0, 1, 1, 20.0, True),  # the range ends on 03-20
    ]
    assert figures([report["total"]]) == [("all", 540.0, 8, 4, 67.5, False)]
    daily = {
        r["period"]: r["revenue"] for r in run(runtime, workspace.id, parse_revenue, **RANGE, period="day")["rows"]
    }
    assert (daily["2024-01-31"], daily["2024-02-29"], daily["2024-03-01"], len(daily)) == (200.0, 0.0, 20.0, 80)
    weekly = run(runtime, workspace.id, parse_revenue, **RANGE, period="week")["rows"]
    assert weekly[0]["period"] == "2024-01-01" and sum(r["revenue"] for r in weekly) == 540.0


def test_repurchase_counts_order_days_of_buyers_first_ordering_in_each_month(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, orders())
    report = run(runtime, workspace.id, parse_repurchase, **RANGE)
    assert [tuple(r.values()) for r in report["rows"]] == [
        ("2024-01", 2, 2, 1.0, 5),  # a (01-15, 02-03) and b (01-31, 03-01)
        ("2024-02", 1, 0, 0.0, 2),  # d ordered twice, but on one day; c first ordered in 2023
        ("2024-03", 0, 0, None, 0),
    ]
    assert report["total"] == {"month": "all", "buyers": 3, "repeat_buyers": 2, "repurchase_rate": 0.6667, "orders": 7}
    until_february = run(runtime, workspace.id, parse_repurchase, start="2024-01-01", end="2024-02-29")
    assert until_february["rows"][0]["repeat_buyers"] == 1  # b's second order is after the range


def test_a_late_order_with_an_old_timestamp_appears_in_the_next_reports(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, orders())
    assert run(runtime, workspace.id, parse_repurchase, **RANGE)["rows"][1]["repeat_buyers"] == 0
    send(runtime, workspace.id, [track("d", ORDER, "2024-02-20", total=40)])
    assert run(runtime, workspace.id, parse_repurchase, **RANGE)["rows"][1]["repurchase_rate"] == 1.0
    revenue = run(runtime, workspace.id, parse_revenue, **RANGE, period="month")
    assert revenue["rows"][1]["revenue"] == 210.0 and revenue["total"]["orders"] == 9


def test_another_workspace_sees_nothing(runtime: Runtime, workspace, other_workspace) -> None:
    open_shop(runtime, workspace.id, orders())
    assert run(runtime, other_workspace.id, parse_revenue, **RANGE, period="month")["total"]["orders"] == 0
    assert run(runtime, other_workspace.id, parse_repurchase, **RANGE)["total"]["buyers"] == 0


def test_the_api_and_the_cli_export_the_same_numbers(client, runtime: Runtime, workspace, tmp_path) -> None:
    open_shop(runtime, workspace.id, orders())
    parameters = {"from": "2024-01-01", "to": "2024-03-20", "period": "month"}
    body = client.get("/api/reports/revenue", params=parameters, headers=workspace.bearer()).json()
    exported = client.get("/api/reports/revenue", params={**parameters, "format": "xlsx"}, headers=workspace.bearer())
    cells = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    assert [c[:4] for c in cells[1:]] == [
        (r["period"], r["revenue"], r["orders"], r["buyers"]) for r in [*body["rows"], body["total"]]
    ]
    repurchase = client.get(
        "/api/reports/repurchase",
        params={"from": "2024-01-01", "to": "2024-03-20", "format": "csv"},
        headers=workspace.bearer(),
    )
    rows = list(csv.DictReader(io.StringIO(repurchase.content.decode("utf-8-sig"))))
    assert [(r["first_order_month"], r["repurchase_rate"]) for r in rows] == [
        ("2024-01", "1.0"),
        ("2024-02", "0.0"),
        ("2024-03", ""),
        ("all", "0.6667"),
    ]
    printed = cli(
        runtime,
        "revenue",
        "--workspace",
        workspace.name,
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-20",
        "--period",
        "month",
        "--json",
    )
    assert printed.exit_code == 0 and json.loads(printed.stdout)["rows"] == body["rows"]
    table = cli(runtime, "repurchase", "--workspace", workspace.name, "--from", "2024-01-01", "--to", "2024-03-20")
    assert table.exit_code == 0 and "66.7%" in table.output
    refused = client.get("/api/reports/revenue", params={"period": "quarter"}, headers=workspace.bearer())
    assert refused.status_code == 400 and refused.json()["error"]["details"]["parameter"] == "period"
