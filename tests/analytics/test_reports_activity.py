"""DAU, rolling WAU and MAU, stickiness: hand-counted days and a brute-force count over generated events."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta

import pytest

from siyu.analytics.reports.activity import rolling_active
from siyu.analytics.reports.calendar import day_number
from siyu.analytics.reports.errors import InvalidParameter
from siyu.analytics.reports.models import parse_activity
from siyu.analytics.reports.run import report_context, run_report
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_retention import cli
from tests.analytics.test_reports_scenario import NOW, ZONE, open_shop, track


def activity(
    runtime: Runtime, workspace_id: int, start: str = "2024-03-14", end: str = "2024-03-20", event: str | None = None
) -> dict:
    context = report_context(runtime, workspace_id)
    query = parse_activity(start=start, end=end, event=event, today=context.today)
    return run_report(context, query).as_dict()


def days() -> list[dict]:
    """a: 02-20, 03-14, 03-16 · b: 03-16, 03-20 00:30 · c: 02-16 (in MAU until 03-16) and 02-10 (never)."""
    return [
        track("a", "Page Viewed", "2024-02-20"),
        track("a", "Page Viewed", "2024-03-14"),
        track("a", "Order Completed", "2024-03-16", total=10),
        track("b", "Page Viewed", "2024-03-16"),
        track("b", "Page Viewed", "2024-03-20", hour=0),
        track("c", "Page Viewed", "2024-02-16"),
        track("c", "Page Viewed", "2024-02-10"),
    ]


def series(report: dict, key: str) -> list:
    return [d[key] for d in report["days"]]


def test_daily_weekly_and_monthly_actives_are_rolling_windows_ending_each_day(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, days())
    report = activity(runtime, workspace.id)
    assert series(report, "day") == [f"2024-03-{d}" for d in range(14, 21)]
    assert series(report, "dau") == [1, 0, 2, 0, 0, 0, 1]
    assert series(report, "wau") == [1, 1, 2, 2, 2, 2, 2]
    assert series(report, "mau") == [2, 2, 3, 2, 2, 2, 2]
    assert series(report, "stickiness") == [0.5, 0.0, 0.6667, 0.0, 0.0, 0.0, 0.5]
    assert report["average"] == {"dau": 0.57, "wau": 1.71, "mau": 2.14, "stickiness": 0.2667}
    assert report["windows"] == {"wau_days": 7, "mau_days": 30}
    assert series(activity(runtime, workspace.id, event="Order Completed"), "mau") == [0, 0, 1, 1, 1, 1, 1]


def test_a_late_event_with_an_old_timestamp_appears_in_the_next_report(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, days())
    assert series(activity(runtime, workspace.id), "dau")[1] == 0
    send(runtime, workspace.id, [track("d", "Page Viewed", "2024-03-15")])
    report = activity(runtime, workspace.id)
    assert series(report, "dau")[1] == 1 and series(report, "mau") == [2, 3, 4, 3, 3, 3, 3]


def test_the_counts_equal_a_brute_force_count_over_generated_events(runtime: Runtime, workspace) -> None:
    rng = random.Random(11)
    start = datetime(2024, 1, 1, tzinfo=ZONE)
    instants = [(f"u{rng.randrange(40)}", start + timedelta(minutes=rng.randrange(80 * 24 * 60))) for _ in range(700)]
    open_shop(
        runtime,
        workspace.id,
        [
            {"type": "track", "userId": user, "event": "Page Viewed", "timestamp": at.isoformat()}
            for user, at in instants
        ],
    )
    report = activity(runtime, workspace.id, start="2024-02-01", end="2024-03-20")
    active = {(user, day_number(at.astimezone(ZONE).date())) for user, at in instants}
    for row in report["days"]:
        today = day_number(datetime.fromisoformat(row["day"]).date())
        for key, width in (("dau", 1), ("wau", 7), ("mau", 30)):
            expected = len({user for user, day in active if today - width < day <= today})
            assert row[key] == expected, (row["day"], key)


def test_rolling_sums_start_from_changes_before_the_range() -> None:
    assert rolling_active([(1, 2), (3, -1), (5, 4), (9, -5)], first=4, last=9) == [1, 5, 5, 5, 5, 0]
    assert rolling_active([], first=0, last=2) == [0, 0, 0]


def test_another_workspace_sees_nothing(runtime: Runtime, workspace, other_workspace) -> None:
    open_shop(runtime, workspace.id, days())
    assert set(series(activity(runtime, other_workspace.id), "mau")) == {0}


def test_bad_dates_and_the_api_cli_exports_agree(client, runtime: Runtime, workspace, tmp_path) -> None:
    with pytest.raises(InvalidParameter):
        parse_activity(start="2024-03-20", end="2024-03-01", event=None, today=NOW.date())
    open_shop(runtime, workspace.id, days())
    parameters = {"from": "2024-03-14", "to": "2024-03-20"}
    body = client.get("/api/reports/activity", params=parameters, headers=workspace.bearer()).json()
    exported = client.get("/api/reports/activity", params={**parameters, "format": "csv"}, headers=workspace.bearer())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["day"], int(r["dau"]), int(r["wau"]), int(r["mau"])) for r in rows] == [
        (d["day"], d["dau"], d["wau"], d["mau"]) for d in body["days"]
    ]
    printed = cli(
        runtime, "activity", "--workspace", workspace.name, "--from", "2024-03-14", "--to", "2024-03-20", "--json"
    )
    assert printed.exit_code == 0 and json.loads(printed.stdout)["days"] == body["days"]
    refused = client.get("/api/reports/activity", params={"to": "2024-02-31"}, headers=workspace.bearer())
    assert refused.status_code == 400 and refused.json()["error"]["details"]["parameter"] == "to"
    assert cli(runtime, "activity", "--workspace", workspace.name, "--to", "soon").exit_code == 2
