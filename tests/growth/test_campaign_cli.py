"""`siyu campaigns` (validate, create, launch, list, measure, leaderboard, run-due, end) and the one
line in `siyu worker`'s pass, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from siyu import clock
from tests.growth.campaign_helpers import DESCRIPTION, OPERATOR, START, arrive, join, person, track


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.growth.cli  # noqa: F401 - registers `siyu campaigns` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_the_cli_creates_launches_measures_and_refuses_bad_rules(runtime, client, workspace, tmp_path) -> None:  # noqa: ANN001
    clock.freeze(START)
    rules = {"description": DESCRIPTION, "helpers_needed": 2, "reward": {"cost_fen": 100}}
    (tmp_path / "rules.json").write_text(json.dumps(rules), encoding="utf-8")
    checked = cli(runtime, "campaigns", "validate", "assist", str(tmp_path / "rules.json"))
    assert checked.exit_code == 0 and "compliance.assist_external_link" in checked.stdout
    (tmp_path / "bad.json").write_text(json.dumps({"description": DESCRIPTION}), encoding="utf-8")
    bad = cli(runtime, "campaigns", "validate", "assist", str(tmp_path / "bad.json"))
    assert bad.exit_code == 2 and "helpers_needed" in bad.output
    body = {"kind": "assist", "name": "助力领券", "rules": rules, "operator": OPERATOR,
            "starts_at": START.isoformat(), "ends_at": (START + timedelta(days=7)).isoformat()}
    (tmp_path / "campaign.json").write_text(json.dumps(body), encoding="utf-8")
    made = cli(runtime, "campaigns", "create", "-w", workspace.name, str(tmp_path / "campaign.json"), "--launch",
               "--json")
    assert made.exit_code == 0, made.output
    campaign_id = json.loads(made.stdout)["id"]
    listed = cli(runtime, "campaigns", "list", "-w", workspace.name, "--status", "live")
    assert listed.stdout.split()[:3] == [str(campaign_id), "assist", "live"]
    owner = person(client, workspace, "owner")
    ref = join(client, workspace, campaign_id, owner)["token"]
    arrive(client, workspace, campaign_id, "helps", ref, person(client, workspace, "friend"))
    figures = json.loads(cli(runtime, "campaigns", "measure", "-w", workspace.name, str(campaign_id),
                             "--json").stdout)
    assert (figures["participants"], figures["invites_accepted"], figures["k_factor"]) == (1, 1, 1.0)
    board = cli(runtime, "campaigns", "leaderboard", "-w", workspace.name, str(campaign_id))
    assert board.stdout.split() == ["1", "profile", str(owner), "1"]
    assert cli(runtime, "campaigns", "end", "-w", workspace.name, str(campaign_id)).exit_code == 0
    assert json.loads(cli(runtime, "campaigns", "run-due", "-w", workspace.name, "--json").stdout)["settled"] == 1
    missing = cli(runtime, "campaigns", "launch", "-w", workspace.name, "999999")
    assert missing.exit_code == 2 and "No campaign 999999" in missing.output


def test_siyu_worker_s_pass_qualifies_referrals(runtime, client, workspace) -> None:  # noqa: ANN001
    from siyu.worker import run_pass

    clock.freeze(START - timedelta(days=10))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    body = {"kind": "referral", "name": "r", "rules": {"description": DESCRIPTION,
                                                        "inviter_reward": {"cost_fen": 1}}, "operator": OPERATOR,
            "starts_at": START.isoformat(), "ends_at": (START + timedelta(days=7)).isoformat()}
    campaign_id = client.post("/api/campaigns", json=body, headers=workspace.bearer()).json()["id"]
    client.post(f"/api/campaigns/{campaign_id}/launch", headers=workspace.bearer())
    ref = join(client, workspace, campaign_id, alice)["token"]
    arrive(client, workspace, campaign_id, "invites", ref, person(client, workspace, "bob"))
    clock.advance(timedelta(hours=1))
    track(client, workspace, "bob", "Order Completed", total=1)
    run_pass(runtime)
    [credit] = client.get(f"/api/campaigns/{campaign_id}/credits", headers=workspace.bearer()).json()
    assert credit["status"] == "credited"
