"""The AARRR overview on the channel report's newcomers plus invitations, on both databases."""

from __future__ import annotations

import csv
import io
import json

from siyu.analytics.reports.models import parse_overview
from siyu.analytics.reports.run import report_context, run_report
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_channels import newcomers
from tests.analytics.test_reports_retention import cli
from tests.analytics.test_reports_scenario import ORDER, open_shop, track

INVITED = "Invite Accepted"


def invitations() -> list[dict]:
    """g accepts on 02-02 and 03-06 (day 33: no 30-day return), h on 03-05; i's acceptance is from 2023."""
    return [
        track("g", INVITED, "2024-02-02"),
        track("g", INVITED, "2024-03-06"),
        track("h", INVITED, "2024-03-05"),
        track("i", INVITED, "2023-12-31"),
    ]


def overview(runtime: Runtime, workspace_id: int) -> dict:
    context = report_context(runtime, workspace_id)
    return run_report(context, parse_overview(start="2024-01-01", end="2024-03-20", today=context.today)).as_dict()


def stages(report: dict) -> dict:
    return {s["measure"]: (s["value"], s["base"], s["rate"]) for s in report["stages"]}


def test_the_five_stages_follow_the_other_reports_definitions(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, newcomers() + invitations())
    report = overview(runtime, workspace.id)
    assert stages(report) == {
        "new_customers": (7, None, None),  # a b c d e, and g h who arrived by invitation
        "first_order_within_7_days": (2, 7, 0.2857),  # a (day 5) and c (day 0)
        "returned_within_30_days": (1, 4, 0.25),  # of a b c g, whose 30 days are over: a
        "revenue": (520.0, None, None),  # a 100 + 50, c 300, f 70 (f is not new: revenue counts everyone)
        "orders": (4, None, None),
        "buyers": (3, None, None),
        "average_order_value": (130.0, None, None),
        "invites_accepted": (3, None, None),
        "inviting_customers": (2, None, None),
    }
    assert report["channels"][:2] == [
        {"channel": "unknown", "new_customers": 3},
        {"channel": "douyin", "new_customers": 2},
    ]


def test_late_events_with_old_timestamps_appear_in_the_next_overview(runtime: Runtime, workspace) -> None:
    open_shop(runtime, workspace.id, newcomers() + invitations())
    overview(runtime, workspace.id)
    send(runtime, workspace.id, [track("b", ORDER, "2024-01-12", total=10), track("e", INVITED, "2024-02-21")])
    report = stages(overview(runtime, workspace.id))
    assert report["first_order_within_7_days"][0] == 3 and report["invites_accepted"][0] == 4
    assert report["revenue"][0] == 530.0


def test_another_workspace_sees_nothing_and_exports_agree(client, runtime: Runtime, workspace, other_workspace) -> None:
    open_shop(runtime, workspace.id, newcomers() + invitations())
    assert {s["value"] for s in overview(runtime, other_workspace.id)["stages"]} == {0}
    parameters = {"from": "2024-01-01", "to": "2024-03-20"}
    body = client.get("/api/reports/aarrr", params=parameters, headers=workspace.bearer()).json()
    exported = client.get("/api/reports/aarrr", params={**parameters, "format": "csv"}, headers=workspace.bearer())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["measure"], float(r["value"])) for r in rows] == [(s["measure"], s["value"]) for s in body["stages"]]
    printed = cli(
        runtime, "aarrr", "--workspace", workspace.name, "--from", "2024-01-01", "--to", "2024-03-20", "--json"
    )
    assert printed.exit_code == 0 and json.loads(printed.stdout)["stages"] == body["stages"]
