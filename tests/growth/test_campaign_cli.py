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


def _offer(client, workspace, **values) -> int:  # noqa: ANN001
    body = {"name": "立减券", "kind": "fixed_amount", "amount_fen": 1000, "stock": 100, "per_person_limit": 1,
            **values}
    answer = client.post("/api/offers", headers=workspace.bearer(), json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_validate_refuses_the_offers_the_api_refuses_with_the_same_message(runtime, client, workspace,  # noqa: ANN001
                                                                           other_workspace, tmp_path) -> None:
    split = {"description": DESCRIPTION, "pool_fen": 2000, "claimers": 3, "minimum_fen": 100}
    percentage = _offer(client, workspace, kind="percentage", amount_fen=None, percent_off=20)
    red_packet = _offer(client, workspace, kind="red_packet", amount_fen=200)
    fixed = _offer(client, workspace)
    group = {"description": DESCRIPTION, "group_size": 3, "leader_price_fen": 4900, "member_price_fen": 5900,
             "member_reward": {"offer_id": fixed}}
    refused = [("split_coupon", {**split, "offer_id": percentage}, "campaigns.offer_not_amount"),
               ("split_coupon", {**split, "minimum_fen": 50, "offer_id": red_packet},
                "campaigns.face_value_out_of_range"),  # a red packet under 1 yuan
               ("split_coupon", {**split, "offer_id": 999_999}, "campaigns.offer_not_found"),
               ("group_buy", group, "campaigns.list_price_required")]
    for n, (kind, rules, code) in enumerate(refused):
        api = client.post("/api/campaigns", headers=workspace.bearer(), json={
            "kind": kind, "name": "refused", "rules": rules, "operator": OPERATOR,
            "starts_at": START.isoformat(), "ends_at": (START + timedelta(days=7)).isoformat()})
        assert (api.status_code, api.json()["error"]["code"]) == (422, code)
        (tmp_path / f"{n}.json").write_text(json.dumps(rules), encoding="utf-8")
        checked = cli(runtime, "campaigns", "validate", kind, str(tmp_path / f"{n}.json"), "-w", workspace.name)
        assert checked.exit_code == 2 and api.json()["error"]["message"] in " ".join(checked.output.split()), code
    (tmp_path / "good.json").write_text(json.dumps({**split, "offer_id": red_packet}), encoding="utf-8")
    good = cli(runtime, "campaigns", "validate", "split_coupon", str(tmp_path / "good.json"), "-w", workspace.name,
               "--json")
    assert good.exit_code == 0 and json.loads(good.stdout)["valid"] is True, good.output
    foreign = cli(runtime, "campaigns", "validate", "split_coupon", str(tmp_path / "good.json"),
                  "-w", other_workspace.name)
    assert foreign.exit_code == 2 and f"there is no offer {red_packet} in this workspace" in foreign.output
    offline = cli(runtime, "campaigns", "validate", "split_coupon", str(tmp_path / "good.json"))
    assert offline.exit_code == 2 and "pass --workspace" in " ".join(offline.output.split())


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
