"""`siyu promoters` and `siyu commissions`: add, re-parent (two levels), plan, list, export, pay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from siyu import clock
from tests.growth.test_distribution_steps import follow, order, person, staff_member

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.growth.distribution_cli  # noqa: F401 - registers the commands on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_promoters_plan_ledger_export_and_pay_from_the_cli(runtime, client, workspace, tmp_path) -> None:  # noqa: ANN001
    clock.freeze(T0)
    ws = str(workspace.id)
    staff_id = staff_member(client, workspace, "wang", "王店长")
    made = cli(runtime, "promoters", "add", "-w", ws, "--staff-id", str(staff_id), "--json")
    assert made.exit_code == 0, made.output
    lead = json.loads(made.output)
    assert lead["name"] == "王店长" and lead["kind"] == "staff"
    koc = json.loads(cli(runtime, "promoters", "add", "-w", ws, "--profile-id", str(person(client, workspace, "k")),
                         "--parent-id", str(lead["id"]), "--json").output)
    third = cli(runtime, "promoters", "add", "-w", ws, "--profile-id", str(person(client, workspace, "k2")),
                "--parent-id", str(koc["id"]))
    assert third.exit_code == 2 and "禁止传销条例" in third.output
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"levels": [{"default_rate": 0.1}, {"default_rate": 0.05},
                                                {"default_rate": 0.01}]}))
    refused = cli(runtime, "commissions", "plan", "-w", ws, "--set", str(plan_file))
    assert refused.exit_code == 2 and "Pyramid Selling" in refused.output
    plan_file.write_text(json.dumps({"levels": [{"default_rate": 0.1}, {"default_rate": 0.05}], "refund_days": 3}))
    assert json.loads(cli(runtime, "commissions", "plan", "-w", ws, "--set", str(plan_file)).output)["version"] == 1
    person(client, workspace, "buyer")
    ref, _, _ = follow(client, koc["token"])
    order(client, workspace, "CLI-1", 200, user_id="buyer", siyu_ref=ref)
    assert cli(runtime, "commissions", "process", "-w", ws, "--json").exit_code == 0
    listed = cli(runtime, "commissions", "list", "-w", ws, "--json")
    assert sorted((r["level"], r["amount_fen"]) for r in json.loads(listed.output)) == [(1, 2000), (2, 1000)]
    clock.advance(timedelta(days=4))
    cli(runtime, "commissions", "process", "-w", ws)
    paid = json.loads(cli(runtime, "commissions", "pay", "-w", ws, "--key", "nov", "--json").output)
    again = json.loads(cli(runtime, "commissions", "pay", "-w", ws, "--key", "nov", "--json").output)
    assert (paid["total_fen"], paid["created"], again["id"], again["created"]) == (3000, True, paid["id"], False)
    target = tmp_path / "ledger.xlsx"
    exported = cli(runtime, "commissions", "export", "-w", ws, str(target), "--promoter-id", str(koc["id"]))
    assert exported.exit_code == 0 and target.read_bytes().startswith(b"PK")
    assert cli(runtime, "commissions", "export", "-w", ws, str(tmp_path / "x.pdf")).exit_code == 2
    shown = cli(runtime, "promoters", "list", "-w", ws)
    assert "王店长" in shown.output and "paid 10.00" in shown.output
    disabled = cli(runtime, "promoters", "set", "-w", ws, str(koc["id"]), "--status", "disabled", "--json")
    assert json.loads(disabled.output)["status"] == "disabled"
