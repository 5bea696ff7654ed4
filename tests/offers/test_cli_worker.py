"""``siyu offers`` from scripts, and the worker pass that expires claims."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from siyu import clock
from siyu.db.engine import read
from siyu.offers import store
from siyu.offers.models import ClaimStatus
from siyu.worker import run_pass
from tests.offers.helpers import NOW, claim, make_offer
from tests.payments.pay import person


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.offers.cli  # noqa: F401 - registers `siyu offers` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_create_claim_redeem_void_and_export_from_the_cli(runtime, client, workspace, tmp_path) -> None:  # noqa: ANN001
    ws = ["--workspace", workspace.name]
    made = cli(runtime, "offers", "create", *ws, "--name", "满50减5", "--kind", "threshold", "--stock", "2",
               "--threshold-fen", "5000", "--amount-fen", "500", "--valid-days", "30", "--json")
    assert made.exit_code == 0, made.output
    offer_id = str(json.loads(made.output)["id"])
    ann, bo = person(client, workspace, None, "ann"), person(client, workspace, None, "bo")
    got = cli(runtime, "offers", "claim", *ws, offer_id, "--profile-id", str(ann), "--key", "k1", "--json")
    assert got.exit_code == 0, got.output
    code = json.loads(got.output)["code"]
    again = cli(runtime, "offers", "claim", *ws, offer_id, "--profile-id", str(ann), "--key", "k2")
    assert again.exit_code == 2 and "per-person limit" in again.output
    low = cli(runtime, "offers", "redeem", *ws, code, "--order-id", "o1", "--amount-fen", "4000", "--key", "r1")
    assert low.exit_code == 2 and "at least 50.00 yuan" in low.output
    used = cli(runtime, "offers", "redeem", *ws, code, "--order-id", "o1", "--amount-fen", "6000", "--key", "r1")
    assert used.exit_code == 0 and "500 fen off" in used.output
    second = json.loads(cli(runtime, "offers", "claim", *ws, offer_id, "--profile-id", str(bo), "--key", "k3",
                            "--json").output)["code"]
    assert cli(runtime, "offers", "void", *ws, second, "--reason", "test").exit_code == 0
    target = tmp_path / "claims.csv"
    assert cli(runtime, "offers", "export-claims", *ws, offer_id, "--output", str(target)).exit_code == 0
    assert [line.split(",")[3] for line in target.read_text().splitlines()[1:]] == ["voided", "redeemed"]
    shown = cli(runtime, "offers", "show", *ws, offer_id)
    assert "1/2 claimed, 1 redeemed, 1 left" in shown.output
    assert cli(runtime, "offers", "create", *ws, "--name", "x", "--kind", "nope", "--stock", "1").exit_code == 2


def test_a_claim_from_the_cli_takes_a_face_value_of_its_own(runtime, client, workspace) -> None:  # noqa: ANN001
    ws = ["--workspace", workspace.name]
    coupon = make_offer(runtime, workspace, amount_fen=1000, stock=5, per_person_limit=5)
    ann = str(person(client, workspace, None, "ann"))
    got = cli(runtime, "offers", "claim", *ws, str(coupon.id), "--profile-id", ann, "--key", "s1",
              "--amount-fen", "733", "--json")
    assert got.exit_code == 0 and json.loads(got.output)["amount_fen"] == 733, got.output
    percent = make_offer(runtime, workspace, kind="percentage", amount_fen=None, percent_off=20)
    refused = cli(runtime, "offers", "claim", *ws, str(percent.id), "--profile-id", ann, "--key", "s2",
                  "--amount-fen", "500")
    assert refused.exit_code == 2 and "value is not an amount" in " ".join(refused.output.split())


def test_codes_and_budgets_from_the_cli(runtime, workspace, tmp_path) -> None:  # noqa: ANN001
    ws = ["--workspace", workspace.name]
    offer = make_offer(runtime, workspace, stock=5)
    batch = cli(runtime, "offers", "codes", *ws, str(offer.id), "--count", "3")
    assert batch.exit_code == 0 and len(batch.output.split()) == 3
    file = tmp_path / "codes.csv"
    file.write_text("code\nSTORE001\nSTORE001\n")
    assert cli(runtime, "offers", "codes", *ws, str(offer.id), "--import", str(file)).exit_code == 2
    assert cli(runtime, "offers", "budget", *ws, "12", "--set", "10000").exit_code == 0
    listed = json.loads(cli(runtime, "offers", "budget", *ws, "--json").output)
    assert [(b["campaign_id"], b["left_fen"]) for b in listed] == [(12, 10000)]


def test_the_worker_pass_expires_claims_past_their_validity(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    offer = make_offer(runtime, workspace, valid_days=1)
    got = claim(runtime, workspace, offer.id, 5, "k")
    run_pass(runtime)
    clock.advance(timedelta(days=1))
    run_pass(runtime)
    with read(runtime.engine) as conn:
        assert store.get_claim(conn, workspace.id, got.id).status is ClaimStatus.EXPIRED


def test_a_gift_is_shipped_from_the_cli(runtime, workspace) -> None:  # noqa: ANN001
    ws = ["--workspace", workspace.name]
    gift = make_offer(runtime, workspace, kind="physical_gift", gift_name="帆布袋", amount_fen=None)
    code = claim(runtime, workspace, gift.id, 9, "g").code
    early = cli(runtime, "offers", "fulfil", *ws, code, "--status", "shipped")
    assert early.exit_code == 2 and "delivery details" in early.output
    shipped = cli(runtime, "offers", "fulfil", *ws, code, "--status", "shipped", "--name", "王小明", "--phone",
                  "13800138000", "--address", "上海市静安区")
    assert shipped.exit_code == 0 and "shipped" in shipped.output
