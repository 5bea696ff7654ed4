"""The HTTP contract: create, claim (201 / 409 with stable codes / the first answer again), read with
claimed and remaining, redeem with its checks, void, export, codes, budgets, and tenancy."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from siyu import clock
from tests.offers.helpers import NOW
from tests.payments.pay import person


def _offer(client, workspace, **values) -> dict:  # noqa: ANN001
    body = {"name": "新客立减", "kind": "fixed_amount", "amount_fen": 1000, "stock": 2, "per_person_limit": 1,
            **values}
    answer = client.post("/api/offers", json=body, headers=workspace.bearer())
    assert answer.status_code == 201, answer.text
    return answer.json()


def _claim(client, workspace, offer_id: int, profile_id: int, key: str, **more):  # noqa: ANN001, ANN202
    return client.post(f"/api/offers/{offer_id}/claims", headers=workspace.bearer(),
                       json={"profile_id": profile_id, "idempotency_key": key, **more})


def test_the_interface_contract(client, workspace) -> None:  # noqa: ANN001
    offer = _offer(client, workspace)
    ann, bo, cy = (person(client, workspace, None, name) for name in ("ann", "bo", "cy"))
    first = _claim(client, workspace, offer["id"], ann, "ann-1")
    assert first.status_code == 201 and first.json()["code"]
    repeat = _claim(client, workspace, offer["id"], ann, "ann-1")
    assert (repeat.status_code, repeat.json()["code"]) == (201, first.json()["code"])
    limited = _claim(client, workspace, offer["id"], ann, "ann-2")
    assert (limited.status_code, limited.json()["error"]["code"]) == (409, "offers.limit_reached")
    assert _claim(client, workspace, offer["id"], bo, "bo-1").status_code == 201
    sold_out = _claim(client, workspace, offer["id"], cy, "cy-1")
    assert (sold_out.status_code, sold_out.json()["error"]["code"]) == (409, "offers.out_of_stock")
    again = _claim(client, workspace, offer["id"], cy, "cy-1")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "offers.out_of_stock")
    shown = client.get(f"/api/offers/{offer['id']}", headers=workspace.bearer()).json()
    assert (shown["claimed"], shown["remaining"]) == (2, 0)
    bare = client.post("/api/offers", headers=workspace.bearer(),
                       json={"name": "秒杀券", "kind": "fixed_amount", "stock": 1000, "per_person_limit": 1})
    assert bare.status_code == 201 and bare.json()["id"] and bare.json()["remaining"] == 1000
    listed = client.get(f"/api/offers/{offer['id']}/claims", headers=workspace.bearer()).json()
    assert sorted(c["profile_id"] for c in listed) == sorted([ann, bo])


def test_bad_input_and_strangers_get_stable_4xx(client, workspace) -> None:  # noqa: ANN001
    bad = client.post("/api/offers", json={"name": "x", "kind": "threshold", "stock": 1, "per_person_limit": 1,
                                           "threshold_fen": 100, "amount_fen": 500}, headers=workspace.bearer())
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "offers.invalid")
    assert bad.json()["error"]["details"]["field"] == "amount_fen"
    both = client.post("/api/offers", json={"name": "x", "kind": "percentage", "percent_off": 20, "stock": 1,
                                            "valid_days": 3, "valid_until": "2027-01-01T00:00:00Z"},
                       headers=workspace.bearer())
    assert both.status_code == 422
    offer = _offer(client, workspace)
    stranger = _claim(client, workspace, offer["id"], 10**12, "k")
    assert stranger.status_code == 404
    assert client.get("/api/offers/999999999", headers=workspace.bearer()).json()["error"]["code"] == "offers.not_found"
    assert client.get("/api/claims/NOPE-NOPE", headers=workspace.bearer()).status_code == 404


def test_a_claim_takes_a_face_value_of_its_own_over_http(client, workspace) -> None:  # noqa: ANN001
    offer = _offer(client, workspace, stock=10, per_person_limit=10)  # 1,000 fen off
    ann = person(client, workspace, None, "ann")
    first = _claim(client, workspace, offer["id"], ann, "share-1", amount_fen=733)
    assert first.status_code == 201, first.text
    assert (first.json()["amount_fen"], first.json()["cost_fen"]) == (733, 733)
    again = _claim(client, workspace, offer["id"], ann, "share-1", amount_fen=733)
    assert (again.status_code, again.json()) == (201, first.json())  # the same key and body: the same answer
    code = first.json()["code"]
    assert client.get(f"/api/claims/{code}", headers=workspace.bearer()).json()["amount_fen"] == 733
    listed = client.get(f"/api/offers/{offer['id']}/claims", headers=workspace.bearer()).json()
    assert [c["amount_fen"] for c in listed] == [733]
    used = client.post(f"/api/claims/{code}/redeem", headers=workspace.bearer(),
                       json={"order_id": "o-1", "amount_fen": 5000, "idempotency_key": "o-1"})
    assert (used.status_code, used.json()["discount_fen"]) == (200, 733)
    plain = _claim(client, workspace, offer["id"], ann, "plain")
    assert (plain.status_code, plain.json()["amount_fen"], plain.json()["cost_fen"]) == (201, None, 1000)


def test_a_face_value_the_offer_cannot_carry_is_a_stable_422(client, workspace) -> None:  # noqa: ANN001
    ann = person(client, workspace, None, "ann")
    percentage = _offer(client, workspace, kind="percentage", amount_fen=None, percent_off=20)
    refused = _claim(client, workspace, percentage["id"], ann, "p-1", amount_fen=500)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "offers.face_value")
    assert "percentage offer's value is not an amount" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"] == {"offer_id": percentage["id"], "kind": "percentage"}
    red_packet = _offer(client, workspace, kind="red_packet", amount_fen=888)
    small = _claim(client, workspace, red_packet["id"], ann, "r-1", amount_fen=99)  # WeChat Pay pays 1-200 yuan
    assert (small.status_code, small.json()["error"]["code"]) == (422, "offers.face_value")
    assert small.json()["error"]["message"] == "A claim of this red_packet offer is worth 100-20000 fen, not 99."
    assert small.json()["error"]["details"]["allowed"] == [100, 20_000]
    threshold = _offer(client, workspace, kind="threshold", threshold_fen=10_000, amount_fen=2000)
    over = _claim(client, workspace, threshold["id"], ann, "t-1", amount_fen=10_001)  # more off than the threshold
    assert (over.status_code, over.json()["error"]["details"]["allowed"]) == (422, [1, 10_000])
    zero = _claim(client, workspace, threshold["id"], ann, "t-1", amount_fen=0)  # outside any offer's: the schema's
    assert (zero.status_code, zero.json()["error"]["code"]) == (400, "request.invalid")
    taken = _claim(client, workspace, threshold["id"], ann, "t-1", amount_fen=10_000)
    assert (taken.status_code, taken.json()["amount_fen"]) == (201, 10_000)  # a refused value never took the key
    shown = client.get(f"/api/offers/{percentage['id']}", headers=workspace.bearer()).json()
    assert shown["claimed"] == 0


def test_redeeming_checks_validity_channel_products_and_threshold(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    offer = _offer(client, workspace, kind="threshold", threshold_fen=10000, amount_fen=2000, valid_days=7,
                   channels=["mini_program"], products=["SKU-1", "SKU-2"], stock=5)
    ann = person(client, workspace, None, "ann")
    code = _claim(client, workspace, offer["id"], ann, "k").json()["code"]
    shown = code[:4] + "-" + code[4:8].lower() + "-" + code[8:]  # typed back with dashes and lower case

    def redeem(key: str, **order):  # noqa: ANN003, ANN202
        body = {"order_id": "o-1", "amount_fen": 12000, "channel": "mini_program", "products": ["SKU-1"],
                "idempotency_key": key, **order}
        return client.post(f"/api/claims/{shown}/redeem", json=body, headers=workspace.bearer())

    for order, reason in (({"channel": "store"}, "channel"), ({"products": ["SKU-9"]}, "product"),
                          ({"amount_fen": 9999}, "threshold")):
        refused = redeem("r0", **order)
        assert (refused.status_code, refused.json()["error"]["details"]["reason"]) == (409, reason)
    used = redeem("r1")
    assert used.status_code == 200 and (used.json()["status"], used.json()["discount_fen"]) == ("redeemed", 2000)
    assert redeem("r1").json()["redeemed_at"] == used.json()["redeemed_at"]  # the same key: the same answer
    twice = redeem("r2", order_id="o-2")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "offers.already_redeemed")
    assert client.get(f"/api/offers/{offer['id']}", headers=workspace.bearer()).json()["redeemed"] == 1
    late = _claim(client, workspace, offer["id"], person(client, workspace, None, "bo"), "late").json()["code"]
    clock.freeze(NOW + timedelta(days=8))
    expired = client.post(f"/api/claims/{late}/redeem", headers=workspace.bearer(),
                          json={"order_id": "o-3", "amount_fen": 20000, "channel": "mini_program",
                                "products": ["SKU-2"], "idempotency_key": "r3"})
    assert expired.json()["error"]["details"]["reason"] == "expired"
    assert client.post("/api/offers/expire-due", headers=workspace.bearer()).json() == {"expired": 1}


def test_void_export_and_figures(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    offer = _offer(client, workspace, kind="percentage", amount_fen=None, percent_off=15, stock=3)
    ann = person(client, workspace, None, "ann")
    code = _claim(client, workspace, offer["id"], ann, "k").json()["code"]
    voided = client.post(f"/api/claims/{code}/void", json={"reason": "typo"}, headers=workspace.bearer())
    assert voided.json()["status"] == "voided"
    assert client.get(f"/api/offers/{offer['id']}", headers=workspace.bearer()).json()["remaining"] == 3
    _claim(client, workspace, offer["id"], ann, "k2")
    exported = client.get(f"/api/offers/{offer['id']}/claims.csv", headers=workspace.bearer())
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["status"] for r in rows) == ["claimed", "voided"]
    shown = client.get(f"/api/offers/{offer['id']}/figures", headers=workspace.bearer()).json()
    assert shown["per_day"] == [{"day": "2026-11-30", "claimed": 2, "redeemed": 0}]
    assert shown["by_status"] == {"claimed": 1, "voided": 1}


def test_generated_and_imported_code_pools(client, workspace) -> None:  # noqa: ANN001
    offer = _offer(client, workspace, stock=5, per_person_limit=5)
    batch = client.post(f"/api/offers/{offer['id']}/codes", json={"count": 2}, headers=workspace.bearer()).json()
    assert (batch["added"], batch["pool_free"], len(set(batch["codes"]))) == (2, 2, 2)
    imported = client.post(f"/api/offers/{offer['id']}/codes/import", content="code\nSHOP-0001\nshop0002\n",
                           headers={**workspace.bearer(), "Content-Type": "text/csv"})
    assert imported.status_code == 201 and imported.json()["pool_size"] == 4
    duplicate = client.post(f"/api/offers/{offer['id']}/codes/import", content="SHOP0001\n",
                            headers={**workspace.bearer(), "Content-Type": "text/csv"})
    assert duplicate.json()["error"]["code"] == "offers.duplicate_codes"
    broken = client.post(f"/api/offers/{offer['id']}/codes/import", content="ok12\nbad code!\n",
                         headers={**workspace.bearer(), "Content-Type": "text/csv"})
    assert broken.json()["error"]["details"]["problems"] == ["line 2: 'bad code!' is not 4-64 letters and digits"]
    ann = person(client, workspace, None, "ann")
    got = [_claim(client, workspace, offer["id"], ann, f"k{n}") for n in range(5)]
    assert sorted(g.json()["code"] for g in got[:4]) == sorted(batch["codes"] + ["SHOP0001", "SHOP0002"])
    assert got[4].json()["error"]["code"] == "offers.out_of_stock"  # the pool ran dry before the stock


def test_budgets_over_http(client, workspace) -> None:  # noqa: ANN001
    assert client.put("/api/offers/budgets/5", json={"budget_fen": 1500}, headers=workspace.bearer()).status_code == 200
    offer = _offer(client, workspace, stock=10, per_person_limit=10, campaign_id=5)
    ann = person(client, workspace, None, "ann")
    answers = [_claim(client, workspace, offer["id"], ann, f"k{n}").status_code for n in range(3)]
    assert answers == [201, 409, 409]
    budgets = client.get("/api/offers/budgets", headers=workspace.bearer()).json()
    assert budgets == [{"campaign_id": 5, "budget_fen": 1500, "spent_fen": 1000, "left_fen": 500,
                        "updated_at": budgets[0]["updated_at"]}]


def test_another_workspace_sees_nothing(client, workspace, other_workspace) -> None:  # noqa: ANN001
    offer = _offer(client, workspace)
    code = _claim(client, workspace, offer["id"], person(client, workspace, None, "ann"), "k").json()["code"]
    for path in (f"/api/offers/{offer['id']}", f"/api/offers/{offer['id']}/claims", f"/api/claims/{code}"):
        assert client.get(path, headers=other_workspace.bearer()).status_code == 404
    assert client.get("/api/offers", headers=other_workspace.bearer()).json() == []
    voided = client.post(f"/api/claims/{code}/void", json={"reason": "x"}, headers=other_workspace.bearer())
    assert voided.status_code == 404
