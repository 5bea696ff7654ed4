"""Distribution end to end on both databases, travelling in time: a touch, an order days later, the
refund window passing, confirmation, payout; refunds before and after payment; replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.growth import distribution_store as store
from siyu.growth.distribution_ledger import CURSOR, process_new_events
from siyu.segments import store as cursor_store
from tests.growth.test_distribution_steps import follow, ledger, order, person, process, promoter, refund, staff_member

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PLAN = {"levels": [{"default_rate": "0.10", "rates": [{"category": "护肤", "rate": "0.15"}]},
                   {"default_rate": "0.02"}], "attribution_days": 7, "refund_days": 7}


def _setup(client, workspace):  # noqa: ANN001, ANN202
    clock.freeze(T0)
    assert client.put("/api/commissions/plan", headers=workspace.bearer(), json=PLAN).status_code == 200
    lead = promoter(client, workspace, kind="staff", staff_id=staff_member(client, workspace, "li.na", "李娜"),
                    landing_url="https://shop.example.com/home")
    koc_profile = person(client, workspace, "koc-1")
    koc = promoter(client, workspace, kind="koc", profile_id=koc_profile, parent_id=lead["id"])
    return lead, koc


def _balances(client, workspace):  # noqa: ANN001, ANN202
    answer = client.get("/api/commissions/balances", headers=workspace.bearer())
    assert answer.status_code == 200
    return {row["promoter_id"]: row for row in answer.json()}


def _sums_from_rows(rows):  # noqa: ANN001, ANN202
    sums: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row["promoter_id"], row["status"])
        sums[key] = sums.get(key, 0) + row["amount_fen"]
    return sums


def _check_balances_equal_ledger(client, workspace) -> None:  # noqa: ANN001
    rows = ledger(client, workspace)
    expected = _sums_from_rows(rows)
    found = {(p, s): v for p, row in _balances(client, workspace).items()
             for s, v in row.items() if s in ("pending", "confirmed", "paid", "reversed") and v}
    assert found == {k: v for k, v in expected.items() if v}


def test_touch_order_window_confirm_pay_with_two_levels(runtime, client, workspace) -> None:  # noqa: ANN001
    lead, koc = _setup(client, workspace)
    ref, location, cookies = follow(client, koc["token"])
    assert location.startswith("https://shop.example.com/") is False  # a KOC without landing URL: their page
    assert f"/p/{koc['token']}/page" in location and "siyu_vid" in cookies
    buyer = person(client, workspace, "buyer-1")
    clock.advance(3 * DAY)
    order(client, workspace, "T1001", 300, user_id="buyer-1", siyu_ref=ref, products=[
        {"product_id": "P1", "category": "护肤", "price": 200, "quantity": 1},
        {"product_id": "P2", "category": "彩妆", "price": 100, "quantity": 1}])
    assert process(client, workspace)["written"] == 2
    rows = ledger(client, workspace)
    assert sorted((r["promoter_id"], r["level"], r["amount_fen"], r["status"]) for r in rows) == sorted([
        (koc["id"], 1, 3000 + 1000, "pending"), (lead["id"], 2, 600, "pending")])
    assert {r["buyer_profile_id"] for r in rows} == {buyer}
    # Reprocessing the whole log writes nothing twice.
    with write(runtime.engine) as conn:
        cursor_store.advance_cursor(conn, workspace.id, CURSOR, 0, clock.now())
        assert process_new_events(conn, workspace.id, clock.now()).written == 0
    assert len(ledger(client, workspace)) == 2
    clock.advance(6 * DAY)  # 6 days after the order: still inside the refund window
    assert process(client, workspace)["confirmed"] == 0
    clock.advance(1 * DAY + timedelta(minutes=1))
    assert process(client, workspace)["confirmed"] == 2
    _check_balances_equal_ledger(client, workspace)
    paid = client.post("/api/commissions/payouts", headers=workspace.bearer(), json={"idempotency_key": "2026-11"})
    assert paid.status_code == 201 and (paid.json()["total_fen"], paid.json()["entries"]) == (4600, 2)
    again = client.post("/api/commissions/payouts", headers=workspace.bearer(), json={"idempotency_key": "2026-11"})
    assert again.status_code == 200 and again.json() == paid.json()
    assert {r["status"] for r in ledger(client, workspace)} == {"paid"}
    assert _balances(client, workspace)[koc["id"]]["paid"] == 4000
    with read(runtime.engine) as conn:
        assert store.paid_total(conn, workspace.id) == (4600, 4600)
    _check_balances_equal_ledger(client, workspace)


def test_refund_before_payment_reverses_and_after_payment_adds_a_negative_adjustment(runtime, client,  # noqa: ANN001
                                                                                      workspace) -> None:
    lead, _ = _setup(client, workspace)
    person(client, workspace, "buyer-2")
    ref, _, _ = follow(client, lead["token"])
    order(client, workspace, "A1", 100, user_id="buyer-2", siyu_ref=ref)
    order(client, workspace, "A2", 50, user_id="buyer-2")  # the same buyer's touch reaches this one too
    process(client, workspace)
    refund(client, workspace, "A1", "buyer-2")
    assert process(client, workspace)["reversed"] == 1
    clock.advance(8 * DAY)
    process(client, workspace)
    payout = client.post("/api/commissions/payouts", headers=workspace.bearer(), json={"idempotency_key": "p1"}).json()
    assert payout["total_fen"] == 500
    refund(client, workspace, "A2", "buyer-2")
    refund(client, workspace, "A2", "buyer-2")  # a retried refund: deduplicated, and idempotent anyway
    assert process(client, workspace)["adjusted"] == 1
    rows = {(r["order_id"], r["kind"]): r for r in ledger(client, workspace)}
    assert rows[("A1", "commission")]["status"] == "reversed"
    assert rows[("A2", "commission")]["status"] == "paid" and rows[("A2", "commission")]["amount_fen"] == 500
    assert (rows[("A2", "adjustment")]["amount_fen"], rows[("A2", "adjustment")]["status"]) == (-500, "confirmed")
    _check_balances_equal_ledger(client, workspace)
    # The debt waits: a payout with nothing positive to pay pays nothing.
    empty = client.post("/api/commissions/payouts", headers=workspace.bearer(), json={"idempotency_key": "p2"})
    assert (empty.json()["total_fen"], empty.json()["entries"]) == (0, 0)
    with read(runtime.engine) as conn:
        assert store.paid_total(conn, workspace.id) == (500, 500)


def test_a_visitor_known_by_cookie_then_identified_is_attributed_without_a_ref(runtime, client,  # noqa: ANN001
                                                                               workspace) -> None:
    lead, _ = _setup(client, workspace)
    _, _, cookies = follow(client, lead["token"])
    visitor = cookies["siyu_vid"].rsplit(".", 1)[0]
    client.post("/v1/identify", auth=(workspace.write_key, ""),
                json={"userId": "buyer-3", "anonymousId": visitor, "timestamp": clock.now().isoformat()})
    clock.advance(2 * DAY)
    order(client, workspace, "C1", 20, user_id="buyer-3")
    process(client, workspace)
    assert [(r["promoter_id"], r["amount_fen"]) for r in ledger(client, workspace)] == [(lead["id"], 200)]
    # The same browser again: the signed cookie keeps the visitor; a forged one starts a new visitor.
    follow(client, lead["token"], cookies)
    follow(client, lead["token"], {"siyu_vid": f"{visitor}.forged"})
    touches = client.get(f"/api/promoters/{lead['id']}/touches", headers=workspace.bearer()).json()
    assert [t["visitor_id"] == visitor for t in touches] == [False, True, True]


def test_touches_outside_the_window_or_after_the_order_earn_nothing_and_the_last_touch_wins(  # noqa: ANN001
        runtime, client, workspace) -> None:
    lead, koc = _setup(client, workspace)
    person(client, workspace, "buyer-4")
    _, _, cookies = follow(client, lead["token"])
    visitor = cookies["siyu_vid"].rsplit(".", 1)[0]
    clock.advance(8 * DAY)
    order(client, workspace, "W1", 100, anonymous_id=visitor)  # the touch is 8 days old
    clock.advance(DAY)
    follow(client, lead["token"], cookies)
    clock.advance(DAY)
    follow(client, koc["token"], cookies)
    clock.advance(DAY)
    order(client, workspace, "W2", 100, anonymous_id=visitor)
    process(client, workspace)
    assert [(r["order_id"], r["promoter_id"], r["level"]) for r in reversed(ledger(client, workspace))] == [
        ("W2", koc["id"], 1), ("W2", lead["id"], 2)]


def test_a_disabled_promoter_earns_nothing_new_and_another_workspace_sees_nothing(  # noqa: ANN001
        runtime, client, workspace, other_workspace) -> None:
    lead, _ = _setup(client, workspace)
    person(client, workspace, "buyer-5")
    ref, _, _ = follow(client, lead["token"])
    changed = client.patch(f"/api/promoters/{lead['id']}", headers=workspace.bearer(), json={"status": "disabled"})
    assert changed.status_code == 200 and changed.json()["status"] == "disabled"
    order(client, workspace, "D1", 100, user_id="buyer-5", siyu_ref=ref)
    process(client, workspace)
    assert ledger(client, workspace) == []
    other = other_workspace.bearer()
    assert client.get(f"/api/promoters/{lead['id']}", headers=other).status_code == 404
    assert client.get("/api/promoters", headers=other).json() == []
    assert client.get("/api/commissions", headers=other).json() == []


def test_the_same_order_sent_again_pays_no_second_promoter(runtime, client, workspace) -> None:  # noqa: ANN001
    lead, koc = _setup(client, workspace)
    person(client, workspace, "buyer-6")
    ref, _, _ = follow(client, lead["token"])
    order(client, workspace, "S1", 100, user_id="buyer-6", siyu_ref=ref)
    process(client, workspace)
    later, _, _ = follow(client, koc["token"])
    client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "event": "Order Completed", "userId": "buyer-6", "messageId": "order-S1-again",
        "timestamp": clock.now().isoformat(), "properties": {"order_id": "S1", "total": 100, "siyu_ref": later}})
    process(client, workspace)
    assert [(r["promoter_id"], r["level"]) for r in ledger(client, workspace)] == [(lead["id"], 1)]


def test_a_pass_that_fails_midway_writes_nothing_and_the_next_one_writes_everything(  # noqa: ANN001
        runtime, client, workspace, monkeypatch) -> None:
    from siyu.growth import distribution_ledger

    lead, koc = _setup(client, workspace)
    person(client, workspace, "buyer-7")
    ref, _, _ = follow(client, koc["token"])
    order(client, workspace, "X1", 100, user_id="buyer-7", siyu_ref=ref)
    real, calls = store.insert_commission, []

    def crash_after_one(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if calls:
            raise RuntimeError("killed mid-pass")
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(distribution_ledger.store, "insert_commission", crash_after_one)
    with pytest.raises(RuntimeError), write(runtime.engine) as conn:
        process_new_events(conn, workspace.id, clock.now())
    assert ledger(client, workspace) == []
    monkeypatch.setattr(distribution_ledger.store, "insert_commission", real)
    assert process(client, workspace)["written"] == 2
    assert sorted((r["promoter_id"], r["level"]) for r in ledger(client, workspace)) == sorted(
        [(koc["id"], 1), (lead["id"], 2)])
