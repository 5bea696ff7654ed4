"""`/api/rewards` and `siyu rewards`: decide, send, list (all, by person, by status), budgets, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from typer.testing import CliRunner

from siyu import clock
from tests.payments.pay import merchant, person

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
REWARD = {"amount_fen": 188, "reason": "campaign:spring", "wishing": "新春快乐", "act_name": "春节回馈",
          "remark": "老客回馈", "budget_fen": 1000}


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.payments.cli  # noqa: F401 - registers `siyu rewards` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_decide_send_and_read_rewards_over_http(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    auth = workspace.bearer()
    with merchant(runtime, workspace) as pay:
        buyer = person(client, workspace, "oApi", "api")
        created = client.post("/api/rewards", headers=auth, json={**REWARD, "profile_id": buyer,
                                                                   "idempotency_key": "spring:api"})
        assert created.status_code == 201, created.text
        again = client.post("/api/rewards", headers=auth, json={**REWARD, "profile_id": buyer,
                                                                 "idempotency_key": "spring:api"})
        assert again.json()["id"] == created.json()["id"]
        assert client.post("/api/rewards/send-due", headers=auth).json() == {"sent": 1}
        [listed] = client.get("/api/rewards", headers=auth, params={"status": "sent"}).json()
        assert (listed["profile_id"], listed["amount_fen"], listed["status"]) == (buyer, 188, "sent")
        assert listed["provider_id"] == pay.paid[0].send_listid
        assert client.get(f"/api/profiles/{buyer}/rewards", headers=auth).json() == [listed]
        assert client.get(f"/api/rewards/{listed['id']}", headers=auth).json() == listed
        [budget] = client.get("/api/rewards/budgets", headers=auth).json()
        assert (budget["reason"], budget["committed_fen"], budget["left_fen"]) == ("campaign:spring", 188, 812)


def test_errors_have_the_one_shape(runtime, client, workspace, other_workspace) -> None:  # noqa: ANN001
    auth = workspace.bearer()
    buyer = person(client, workspace, "oErr", "err")
    small = client.post("/api/rewards", headers=auth, json={**REWARD, "profile_id": buyer, "amount_fen": 50,
                                                             "idempotency_key": "small"})
    assert small.status_code == 422 and small.json()["error"]["code"] == "payments.invalid_amount"
    stranger = client.post("/api/rewards", headers=other_workspace.bearer(),
                           json={**REWARD, "profile_id": buyer, "idempotency_key": "x"})
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "profiles.not_found"
    missing = client.get("/api/rewards/999999", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "payments.not_found"
    client.post("/api/rewards", headers=auth, json={**REWARD, "profile_id": buyer, "idempotency_key": "due"})
    unset = client.post("/api/rewards/send-due", headers=auth)
    assert unset.status_code == 409 and unset.json()["error"]["code"] == "payments.not_configured"


def test_the_cli_lists_and_sends(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        buyer = person(client, workspace, "oCli", "cli")
        client.post("/api/rewards", headers=workspace.bearer(), json={**REWARD, "profile_id": buyer,
                                                                       "idempotency_key": "cli"})
        listed = cli(runtime, "rewards", "list", "-w", workspace.name, "--json")
        assert listed.exit_code == 0, listed.output
        assert [r["status"] for r in json.loads(listed.stdout)] == ["decided"]
        sent = cli(runtime, "rewards", "send-due", "-w", workspace.name, "--json")
        assert sent.exit_code == 0, sent.output
        assert json.loads(sent.stdout) == {"sent": 1} and len(pay.paid) == 1
        table = cli(runtime, "rewards", "list", "-w", workspace.name, "--status", "sent")
        assert table.exit_code == 0 and "1.88 yuan" in table.stdout
        bad = cli(runtime, "rewards", "list", "-w", workspace.name, "--status", "lost")
        assert bad.exit_code == 2 and "--status is one of" in bad.output
