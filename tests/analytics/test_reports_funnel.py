"""Funnels on a hand-countable week, on both databases: per person, ordered, within the window."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from siyu.analytics.reports.errors import InvalidParameter
from siyu.analytics.reports.models import parse_funnel
from siyu.analytics.reports.run import report_context, run_report
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_retention import cli
from tests.analytics.test_reports_scenario import NOW, ORDER, open_shop, track

VIEW, PRODUCT = "Page Viewed", "Product Viewed"
STEPS = [VIEW, PRODUCT, ORDER]


def week() -> list[dict]:
    """p1 converts fully; p2 skips the product; p3 orders 12 days after entering (outside 7d); p4 entered
    before the range too; p5 views the product in the same millisecond; p6 views it exactly 7 days later."""
    same = {"type": "identify", "userId": "p1", "traits": {"city": "上海"}}
    return [
        same,
        {"type": "identify", "userId": "p2", "traits": {"city": "北京"}},
        track("p1", VIEW, "2024-03-05", 10, channel="xiaohongshu"),
        track("p1", PRODUCT, "2024-03-05", 11, sku="A1"),
        track("p1", ORDER, "2024-03-06", 10, total=99),
        track("p2", VIEW, "2024-03-06", channel="tmall"),
        track("p2", ORDER, "2024-03-07"),
        track("p3", PRODUCT, "2024-03-04", 9, channel="xiaohongshu", sku="B2"),
        track("p3", VIEW, "2024-03-08"),
        track("p3", PRODUCT, "2024-03-09", sku="B2"),
        track("p3", ORDER, "2024-03-20", 8),
        track("p4", VIEW, "2024-02-20"),
        track("p4", VIEW, "2024-03-10"),
        track("p4", PRODUCT, "2024-03-10", 11, sku="A1"),
        track("p5", VIEW, "2024-03-10", 15),
        track("p5", PRODUCT, "2024-03-10", 15, sku="A1"),
        track("p6", VIEW, "2024-03-11"),
        track("p6", PRODUCT, "2024-03-18"),
    ]


def funnel(runtime: Runtime, workspace_id: int, steps: list[str] = STEPS, **parameters: str | None) -> dict:
    context = report_context(runtime, workspace_id)
    defaults = {"start": "2024-03-01", "end": "2024-03-20", "window": None, "breakdown": None}
    query = parse_funnel(**{**defaults, **parameters}, steps=steps, today=context.today)
    return run_report(context, query).as_dict()


def test_people_go_through_the_steps_in_order_within_the_window(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, week())
    report = funnel(runtime, workspace.id)
    total = report["total"]
    assert total["people"] == [6, 4, 1]
    assert total["conversion"] == [1.0, 0.6667, 0.1667] and total["step_conversion"] == [1.0, 0.6667, 0.25]
    # p1 1 h, p3 24 h, p4 1 h, p5 0: median 1 h; p1 ordered 23 h after viewing the product.
    assert total["median_seconds"] == [None, 3600.0, 82800.0]
    assert [s["label"] for s in report["steps"]] == STEPS and report["breakdowns"] == []


def test_a_step_can_require_a_property_value(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, week())
    report = funnel(runtime, workspace.id, steps=[VIEW, f"{PRODUCT}|sku=A1", ORDER])
    assert report["total"]["people"] == [6, 3, 1]
    assert report["steps"][1] == {"name": PRODUCT, "property": "sku", "value": "A1", "label": f"{PRODUCT} (sku=A1)"}


def test_a_longer_window_lets_the_late_order_convert(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, week())
    assert funnel(runtime, workspace.id, window="14d")["total"]["people"] == [6, 5, 2]  # p3 orders; p6 views
    assert funnel(runtime, workspace.id, window="2h")["total"]["people"] == [6, 3, 0]


def test_breakdown_by_first_channel_and_by_trait(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, week())
    by_channel = {g["breakdown"]: g["people"] for g in funnel(runtime, workspace.id, breakdown="channel")["breakdowns"]}
    assert by_channel == {"xiaohongshu": [2, 2, 1], "unknown": [3, 2, 0], "tmall": [1, 0, 0]}
    by_city = funnel(runtime, workspace.id, breakdown="trait:city")
    assert [(g["breakdown"], g["people"]) for g in by_city["breakdowns"]] == [
        ("(none)", [4, 3, 0]),
        ("上海", [1, 1, 1]),
        ("北京", [1, 0, 0]),
    ]
    assert by_city["total"]["people"] == [6, 4, 1]


def test_a_late_event_with_an_old_timestamp_appears_in_the_next_report(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, week())
    assert funnel(runtime, workspace.id)["total"]["people"] == [6, 4, 1]
    send(runtime, workspace.id, [track("p2", PRODUCT, "2024-03-06", 12), track("p7", VIEW, "2024-03-02")])
    assert funnel(runtime, workspace.id)["total"]["people"] == [7, 5, 2]  # p2 had ordered on 03-07


def test_another_workspace_sees_nothing(runtime: Runtime, workspace, other_workspace) -> None:
    open_shop(runtime, workspace.id, week())
    report = funnel(runtime, other_workspace.id, breakdown="channel")
    assert report["total"]["people"] == [0, 0, 0] and report["breakdowns"] == []


@pytest.mark.parametrize(
    ("steps", "parameters", "parameter"),
    [
        ([VIEW], {}, "step"),
        ([VIEW] * 11, {}, "step"),
        ([VIEW, " "], {}, "step"),
        ([VIEW, f"{PRODUCT}|sku"], {}, "step"),
        ([VIEW, f"{PRODUCT}|$.x=1"], {}, "step"),
        (STEPS, {"window": "7w"}, "window"),
        (STEPS, {"window": "91d"}, "window"),
        (STEPS, {"breakdown": "trait:"}, "breakdown"),
        (STEPS, {"breakdown": "city"}, "breakdown"),
        (STEPS, {"start": "2024-3-1"}, "from"),
    ],
)
def test_bad_parameters_name_the_parameter(steps: list[str], parameters: dict, parameter: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_funnel(
            **{"start": None, "end": None, "window": None, "breakdown": None, **parameters},
            steps=steps,
            today=NOW.date(),
        )
    assert raised.value.details["parameter"] == parameter


def test_the_api_and_the_cli_give_the_same_numbers_in_every_format(
    client, runtime: Runtime, workspace, tmp_path
) -> None:
    open_shop(runtime, workspace.id, week())
    parameters = [("from", "2024-03-01"), ("to", "2024-03-20"), *[("step", s) for s in STEPS], ("breakdown", "channel")]
    body = client.get("/api/reports/funnel", params=parameters, headers=workspace.bearer()).json()
    assert body["report"] == "funnel" and body["total"]["people"] == [6, 4, 1]
    expected = [("all", n + 1, body["total"]["people"][n]) for n in range(3)] + [
        (g["breakdown"], n + 1, g["people"][n]) for g in body["breakdowns"] for n in range(3)
    ]
    exported = client.get("/api/reports/funnel", params=[*parameters, ("format", "csv")], headers=workspace.bearer())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["breakdown"], int(r["step"]), int(r["people"])) for r in rows] == expected
    command = [
        "funnel",
        "--workspace",
        workspace.name,
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-20",
        *[a for s in STEPS for a in ("--step", s)],
        "--breakdown",
        "channel",
    ]
    printed = cli(runtime, *command, "--json")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout)["breakdowns"] == body["breakdowns"]
    target = tmp_path / "funnel.xlsx"
    assert cli(runtime, *command, "--output", str(target)).exit_code == 0
    cells = list(load_workbook(target).active.iter_rows(values_only=True))[1:]
    assert [(c[0], c[1], c[3]) for c in cells] == expected
    table = cli(runtime, *command)
    assert table.exit_code == 0 and "66.7%" in table.output and "23.0 h" in table.output


def test_too_many_steps_is_a_4xx_envelope_and_cli_exit_2(client, runtime: Runtime, workspace) -> None:
    response = client.get("/api/reports/funnel", params=[("step", VIEW)] * 11, headers=workspace.bearer())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reports.invalid_parameter"
    assert response.json()["error"]["details"] == {"parameter": "step", "count": 11}
    result = cli(runtime, "funnel", "--workspace", workspace.name, "--step", VIEW)
    assert result.exit_code == 2 and "A funnel has 2 to 10 steps; 1 were given." in result.output
