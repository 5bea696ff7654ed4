"""``/api/loyalty`` and ``siyu tiers`` / ``siyu points`` end to end: a programme set, orders tracked
through ingest, the worker pass, the member view, adjust and redeem, errors in the one shape, and
another workspace sees nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu import clock
from siyu.worker import run_pass
from tests.loyalty.helpers import LADDER, NOW, make_programme
from tests.offers.helpers import make_offer
from tests.payments.pay import person


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.loyalty.cli  # noqa: F401 - registers `siyu tiers` / `siyu points`
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_programme_orders_worker_member_view_adjust_and_redeem_over_http(runtime, client, workspace,  # noqa: ANN001
                                                                         other_workspace) -> None:
    clock.freeze(NOW)
    auth = workspace.bearer()
    assert client.get("/api/loyalty/programme", headers=auth).json()["error"]["code"] == "loyalty.no_programme"
    bad = client.put("/api/loyalty/programme", headers=auth, json={"tiers": [{"name": "x", "threshold": 5}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "loyalty.invalid"
    coupon = make_offer(runtime, workspace, stock=5)
    put = client.put("/api/loyalty/programme", headers=auth, json={
        "tiers": LADDER, "catalogue": [{"offer_id": coupon.id, "points": 100}]})
    assert put.status_code == 200, put.text
    ann = person(client, workspace, None, "ann")
    sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "userId": "ann", "event": "Order Completed", "properties": {"order_id": "X1", "revenue": 1288}})
    assert sent.status_code == 200
    run_pass(runtime)
    view = client.get(f"/api/loyalty/members/{ann}", headers=auth).json()
    assert view["tier"]["name"] == "银卡" and view["member"]["points_balance"] == 1288
    assert view["next_tier"] == {"rank": 2, "name": "金卡", "threshold": 5000, "missing": 5000 - 1288}
    assert client.get("/api/loyalty/programme", headers=auth).json()["members_by_tier"] == [0, 1, 0]
    redeemed = client.post(f"/api/loyalty/members/{ann}/redeem", headers=auth,
                           json={"offer_id": coupon.id, "idempotency_key": "r1"})
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["entry"]["points"] == -100
    too_much = client.post(f"/api/loyalty/members/{ann}/adjust", headers=auth,
                           json={"points": -5000, "note": "x", "idempotency_key": "a1"})
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "loyalty.insufficient_points"
    added = client.post(f"/api/loyalty/members/{ann}/adjust", headers=auth,
                        json={"points": 12, "note": "goodwill", "idempotency_key": "a2"})
    assert added.status_code == 201
    ledger = client.get(f"/api/loyalty/members/{ann}/points", headers=auth).json()
    assert [e["kind"] for e in ledger] == ["earn", "spend", "earn"]
    assert sum(e["points"] for e in ledger) == 1200
    other = other_workspace.bearer()
    assert client.get(f"/api/loyalty/members/{ann}", headers=other).status_code == 409  # no programme there
    make_programme(runtime, other_workspace)
    assert client.get(f"/api/loyalty/members/{ann}", headers=other).json()["member"] is None
    assert client.get(f"/api/loyalty/members/{ann}/points", headers=other).json() == []
    assert client.get("/api/loyalty/members", headers=other).json() == []
    assert client.post(f"/api/loyalty/members/{ann}/adjust", headers=other,
                       json={"points": 1, "note": "x", "idempotency_key": "z"}).status_code == 404
    assert client.post(f"/api/loyalty/members/{ann}/redeem", headers=other,
                       json={"offer_id": coupon.id, "idempotency_key": "z"}).status_code == 404


def test_the_cli_sets_shows_adjusts_and_reports_errors_with_exit_2(runtime, client, workspace, tmp_path) -> None:  # noqa: ANN001
    ws = ["--workspace", workspace.name]
    bo = str(person(client, workspace, None, "bo"))
    file = tmp_path / "programme.json"
    file.write_text(json.dumps({"tiers": LADDER, "grace_days": 7}), encoding="utf-8")
    done = cli(runtime, "tiers", "set", *ws, str(file))
    assert done.exit_code == 0, done.output
    shown = json.loads(cli(runtime, "tiers", "show", *ws).output)
    assert [t["name"] for t in shown["tiers"]] == ["普卡", "银卡", "金卡"] and shown["grace_days"] == 7
    assert cli(runtime, "points", "adjust", *ws, bo, "30", "--key", "k1").exit_code == 0
    assert cli(runtime, "points", "adjust", *ws, bo, "-31", "--key", "k2").exit_code == 2
    assert cli(runtime, "points", "adjust", *ws, "999999", "5", "--key", "k3").exit_code == 2  # nobody
    lines = cli(runtime, "points", "history", *ws, bo).output.splitlines()
    assert [json.loads(line)["points"] for line in lines] == [30]
    assert json.loads(cli(runtime, "tiers", "member", *ws, bo).output)["member"]["points_balance"] == 30
    assert cli(runtime, "tiers", "run", *ws).exit_code == 0
    file.write_text("[1]", encoding="utf-8")
    assert cli(runtime, "tiers", "set", *ws, str(file)).exit_code == 2
