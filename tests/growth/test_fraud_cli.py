"""``siyu reviews``: list, show, approve and reject from the command line; bad input exits 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from siyu import clock
from tests.growth.test_fraud_api import decided

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.growth.fraud_cli  # noqa: F401 - registers `siyu reviews` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_list_show_approve_reject(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    first, second = decided(runtime, workspace, "c1"), decided(runtime, workspace, "c2")
    listed = cli(runtime, "reviews", "list", "-w", workspace.name, "--json")
    assert listed.exit_code == 0, listed.output
    assert [d["id"] for d in json.loads(listed.output)] == [second, first]
    shown = cli(runtime, "reviews", "show", "-w", workspace.name, str(first))
    assert shown.exit_code == 0 and "device_cluster (+50)" in shown.output
    approved = cli(runtime, "reviews", "approve", "-w", workspace.name, str(first), "--note", "known family",
                   "--operator", "ops@brand", "--json")
    assert approved.exit_code == 0, approved.output
    body = json.loads(approved.output)
    assert (body["review_status"], body["reviewed_by"], body["changed"]) == ("approved", "ops@brand", True)
    assert "already done" in cli(runtime, "reviews", "approve", "-w", workspace.name, str(first)).output
    rejected = cli(runtime, "reviews", "reject", "-w", workspace.name, str(second))
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    remaining = cli(runtime, "reviews", "list", "-w", workspace.name, "--json")
    assert json.loads(remaining.output) == []
    everything = cli(runtime, "reviews", "list", "-w", workspace.name, "--status", "all")
    assert everything.exit_code == 0 and "approved" in everything.output and "rejected" in everything.output


def test_conflicts_unknown_ids_and_bad_options_exit_2(runtime, workspace, other_workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    decision_id = decided(runtime, workspace, "c3")
    assert cli(runtime, "reviews", "approve", "-w", workspace.name, str(decision_id)).exit_code == 0
    conflict = cli(runtime, "reviews", "reject", "-w", workspace.name, str(decision_id))
    assert conflict.exit_code == 2 and "approved" in conflict.output
    assert cli(runtime, "reviews", "show", "-w", other_workspace.name, str(decision_id)).exit_code == 2
    assert cli(runtime, "reviews", "list", "-w", workspace.name, "--status", "maybe").exit_code == 2
