"""Retention cohorts on the hand-countable shop (tests/analytics/test_reports_scenario.py), on both databases."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from siyu.analytics.reports.errors import InvalidParameter
from siyu.analytics.reports.models import parse_retention
from siyu.analytics.reports.run import report_context, run_report
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_scenario import NOW, ORDER, open_shop, track


def retention(runtime: Runtime, workspace_id: int, **parameters: str | None) -> dict:
    context = report_context(runtime, workspace_id)
    defaults = {"start": "2024-03-04", "end": "2024-03-20", "period": "week", "event": None, "breakdown": None}
    query = parse_retention(**{**defaults, **parameters}, today=context.today)
    return run_report(context, query).as_dict()


def shape(row: dict) -> tuple:
    return row["cohort"], row["breakdown"], row["people"], row["returned"], row["on_or_after"], row["incomplete"]


def test_weekly_cohorts_count_returns_on_and_on_or_after_each_week(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id)
    report = retention(runtime, workspace.id)
    # 03-04: a (back in week 1, orders in week 2) and b (never back); 03-11: c (back in week 1).
    # d was first seen on 02-20, before the range: in no cohort. Week 03-18 is running: incomplete.
    assert [shape(r) for r in report["rows"]] == [
        ("2024-03-04", None, 2, [2, 1, 1], [2, 1, 1], [False, False, True]),
        ("2024-03-11", None, 1, [1, 1], [1, 1], [False, True]),
    ]
    assert report["rows"][0]["rate"] == [1.0, 0.5, 0.5]
    total = report["total"]
    assert (total["people"], total["returned"], total["rate"]) == (3, [3, 2, 1], [1.0, 0.6667, 0.5])


def test_returning_on_a_chosen_event_and_by_acquisition_channel(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id)
    orders = retention(runtime, workspace.id, event=ORDER)
    assert [shape(r) for r in orders["rows"]] == [
        ("2024-03-04", None, 2, [0, 0, 1], [1, 1, 1], [False, False, True]),
        ("2024-03-11", None, 1, [0, 0], [0, 0], [False, True]),
    ]
    by_channel = retention(runtime, workspace.id, breakdown="channel")
    assert [shape(r) for r in by_channel["rows"]] == [
        ("2024-03-04", "tmall", 1, [1, 0, 0], [1, 0, 0], [False, False, True]),
        ("2024-03-04", "xiaohongshu", 1, [1, 1, 1], [1, 1, 1], [False, False, True]),
        ("2024-03-11", "xiaohongshu", 1, [1, 1], [1, 1], [False, True]),
    ]


def test_on_or_after_counts_a_person_in_every_period_up_to_their_last_return(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, [track("e", "Page Viewed", "2024-03-01"), track("e", ORDER, "2024-03-19")])
    report = retention(runtime, workspace.id, start="2024-03-01", period="day")
    row = report["rows"][0]
    assert row["cohort"] == "2024-03-01" and row["returned"][0] == 1 and row["returned"][18] == 1
    assert row["returned"][1:18] == [0] * 17 and row["on_or_after"] == [1] * 19 + [0]
    assert row["incomplete"][-1] is True and len(row["returned"]) == 20  # 03-20 has begun, 03-21 has not


def test_monthly_cohorts_are_calendar_months_in_the_workspace_time_zone(runtime: Runtime, workspace) -> None:
    # 02-29 23:30 in Shanghai is still February there (15:30 UTC); 03-01 00:30 is March (02-29 16:30 UTC).
    open_shop(
        runtime,
        workspace.id,
        [
            track("f", "Page Viewed", "2024-02-29", hour=23),
            track("g", "Page Viewed", "2024-03-01", hour=0),
            track("f", "Page Viewed", "2024-03-02"),
        ],
    )
    report = retention(runtime, workspace.id, start="2024-02-01", period="month")
    assert [shape(r) for r in report["rows"]] == [
        ("2024-02", None, 1, [1, 1], [1, 1], [False, True]),
        ("2024-03", None, 1, [1], [1], [True]),
    ]


def test_a_late_event_with_an_old_timestamp_appears_in_the_next_report(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id)
    before = retention(runtime, workspace.id)
    assert before["rows"][0]["returned"] == [2, 1, 1]
    # b comes back in week 1 and c turns out to have been seen in week 0: both reported a week late.
    send(runtime, workspace.id, [track("b", "Page Viewed", "2024-03-13"), track("c", "Page Viewed", "2024-03-05")])
    after = retention(runtime, workspace.id)
    assert [shape(r) for r in after["rows"]] == [
        ("2024-03-04", None, 3, [3, 3, 2], [3, 3, 2], [False, False, True]),
    ]


def test_another_workspace_sees_nothing(runtime: Runtime, workspace, other_workspace) -> None:
    open_shop(runtime, workspace.id)
    report = retention(runtime, other_workspace.id)
    assert report["rows"] == [] and report["total"]["people"] == 0


@pytest.mark.parametrize(
    ("parameters", "parameter"),
    [
        ({"start": "2024-13-01"}, "from"),
        ({"end": "yesterday"}, "to"),
        ({"start": "2024-03-20", "end": "2024-03-01"}, "from"),
        ({"period": "fortnight"}, "period"),
        ({"breakdown": "city"}, "breakdown"),
        ({"start": "2023-01-01", "period": "day"}, "from"),
        ({"start": "1969-12-01"}, "from"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters: dict, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_retention(
            **{"start": None, "end": None, "period": None, "event": None, "breakdown": None, **parameters},
            today=NOW.date(),
        )
    assert raised.value.code == "reports.invalid_parameter" and raised.value.details["parameter"] == parameter


def test_the_api_answers_json_csv_and_xlsx_with_the_same_numbers(client, runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id)
    parameters = {"from": "2024-03-04", "to": "2024-03-20", "breakdown": "channel"}
    body = client.get("/api/reports/retention", params=parameters, headers=workspace.bearer()).json()
    assert body["report"] == "retention" and body["timezone"] == "Asia/Shanghai"
    assert body["query"] == {
        "from": "2024-03-04",
        "to": "2024-03-20",
        "period": "week",
        "event": None,
        "breakdown": "channel",
    }
    expected = [
        (r["cohort"], r["breakdown"], r["people"], n, r["returned"][n], r["on_or_after"][n])
        for r in body["rows"]
        for n in range(len(r["returned"]))
    ]
    response = client.get("/api/reports/retention", params={**parameters, "format": "csv"}, headers=workspace.bearer())
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="retention-2024-03-04-2024-03-20.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    from_csv = [
        (r["cohort"], r["breakdown"], int(r["people"]), int(r["period"]), int(r["returned"]), int(r["on_or_after"]))
        for r in rows
        if r["cohort"] != "all"
    ]
    assert from_csv == expected
    response = client.get("/api/reports/retention", params={**parameters, "format": "xlsx"}, headers=workspace.bearer())
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][:6] == ("cohort", "breakdown", "people", "period", "returned", "rate")
    from_xlsx = [(c[0], c[1], c[2], c[3], c[4], c[6]) for c in cells[1:] if c[0] != "all"]
    assert from_xlsx == expected


def test_the_api_refuses_bad_parameters_and_unknown_reports_with_the_envelope(client, workspace) -> None:
    bad = client.get("/api/reports/retention", params={"from": "2024-02-30"}, headers=workspace.bearer())
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "reports.invalid_parameter"
    assert bad.json()["error"]["details"]["parameter"] == "from"
    fmt = client.get("/api/reports/retention", params={"format": "pdf"}, headers=workspace.bearer())
    assert fmt.status_code == 400 and fmt.json()["error"]["details"]["parameter"] == "format"
    unknown = client.get("/api/reports/churn-forecast", headers=workspace.bearer())
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "reports.unknown_report"
    assert "retention" in unknown.json()["error"]["details"]["known"]
    assert set(unknown.json()["error"]) == {"code", "message", "details"}
    assert client.get("/api/reports/retention").status_code == 401


def cli(runtime: Runtime, *args: str):  # noqa: ANN201
    import siyu.analytics.reports_cli  # noqa: F401 - registers `siyu reports` on the app
    from siyu.cli import app

    return CliRunner().invoke(
        app,
        ["reports", *args],
        env={"SIYU_DATABASE_URL": runtime.config.database_url, "SIYU_DATA_DIR": str(runtime.config.data_dir)},
    )


def test_the_cli_prints_json_a_table_and_files(runtime: Runtime, workspace, tmp_path) -> None:
    open_shop(runtime, workspace.id)
    common = ["--workspace", workspace.name, "--from", "2024-03-04", "--to", "2024-03-20"]
    result = cli(runtime, "retention", *common, "--json")
    assert result.exit_code == 0, result.output
    assert [r["returned"] for r in json.loads(result.stdout)["rows"]] == [[2, 1, 1], [1, 1]]
    table = cli(runtime, "retention", *common)
    assert table.exit_code == 0 and "2024-03-04" in table.output and "50.0%*" in table.output
    target = tmp_path / "retention.xlsx"
    written = cli(runtime, "retention", *common, "--output", str(target))
    assert written.exit_code == 0, written.output
    cells = list(load_workbook(target).active.iter_rows(values_only=True))
    assert [c[4] for c in cells[1:4]] == [2, 1, 1]
    as_csv = cli(runtime, "retention", *common, "--format", "csv")
    assert as_csv.exit_code == 0 and as_csv.stdout.lstrip("\ufeff").startswith("cohort,breakdown,people")


def test_the_cli_exits_2_with_the_message_on_bad_parameters(runtime: Runtime, workspace) -> None:
    result = cli(runtime, "retention", "--workspace", workspace.name, "--period", "fortnight")
    assert result.exit_code == 2 and "period must be one of day, week, month" in result.output
    result = cli(runtime, "retention", "--workspace", workspace.name, "--format", "xlsx")
    assert result.exit_code == 2 and "--output" in result.output
