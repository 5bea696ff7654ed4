"""The points ledger on both databases: earning in lots, caps per local day, spending FIFO,
idempotent keys, refunds with a debt, expiry, and redemption for an offer in one transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.loyalty import nightly_store, points, points_store, store
from siyu.loyalty.models import EntryKind, Expiry
from siyu.offers.errors import OffersError
from tests.loyalty.helpers import NOW, balances, earn, make_programme, spend
from tests.offers.helpers import make_offer


def test_spend_takes_the_soonest_expiring_lot_first_and_refuses_more_than_the_balance(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    earn(runtime, workspace, 1, 100, "a", expiry=Expiry(mode="rolling", days=300))
    earn(runtime, workspace, 1, 50, "b", expiry=Expiry(mode="rolling", days=10))
    entry = spend(runtime, workspace, 1, 70, "s1")
    assert entry.points == -70
    with read(runtime.engine) as conn:
        remaining = {lot.earned: lot.remaining for lot in points_store.open_lots(conn, workspace.id, 1)}
    assert remaining == {100: 80}  # the 50 expiring in 10 days went first
    assert spend(runtime, workspace, 1, 81, "s2") == "loyalty.insufficient_points"
    assert balances(runtime, workspace, 1) == (80, 80, 80)
    with read(runtime.engine) as conn:
        assert points_store.entry_by_key(conn, workspace.id, "s2") is None  # the refusal left no trace


def test_the_same_key_changes_nothing_twice_and_another_use_of_it_is_refused(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    first = earn(runtime, workspace, 1, 100, "e")
    assert earn(runtime, workspace, 1, 100, "e").id == first.id
    spent = spend(runtime, workspace, 1, 30, "s")
    assert spend(runtime, workspace, 1, 30, "s").id == spent.id
    assert spend(runtime, workspace, 2, 30, "s") == "loyalty.key_reused"
    assert balances(runtime, workspace, 1) == (70, 70, 70)


def test_a_daily_cap_counts_on_the_workspace_local_day(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    cap = ("event:Checked In", 20000, 15)
    assert earn(runtime, workspace, 1, 10, "c1", cap=cap).points == 10
    assert earn(runtime, workspace, 1, 10, "c2", cap=cap).points == 5
    assert earn(runtime, workspace, 1, 10, "c3", cap=cap).points == 0
    assert earn(runtime, workspace, 1, 10, "c4", cap=(cap[0], 20001, 15)).points == 10
    assert balances(runtime, workspace, 1) == (25, 25, 25)


def test_a_cap_lowered_during_the_day_lets_nothing_more_through_and_takes_nothing_back(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    assert earn(runtime, workspace, 1, 30, "l1", cap=("event:Checked In", 20000, 50)).points == 30
    assert earn(runtime, workspace, 1, 10, "l2", cap=("event:Checked In", 20000, 20)).points == 0  # 30 > 20 already
    assert balances(runtime, workspace, 1) == (30, 30, 30)


def test_a_refund_takes_back_its_points_and_what_was_spent_becomes_a_debt_repaid_first(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    earn(runtime, workspace, 1, 40, "other")
    earn(runtime, workspace, 1, 100, "order", order_id="O1")
    spend(runtime, workspace, 1, 120, "s")  # 20 left, the order's lot partly spent
    with write(runtime.engine) as conn:
        entry, fresh = points.reverse_order(conn, workspace.id, "O1", now=clock.now())
    assert fresh and entry.points == -20 and entry.details["debt"] == 80
    with write(runtime.engine) as conn:
        _, again = points.reverse_order(conn, workspace.id, "O1", now=clock.now())
    assert not again
    with read(runtime.engine) as conn:
        assert store.get_member(conn, workspace.id, 1).points_debt == 80
    assert balances(runtime, workspace, 1) == (0, 0, 0)
    earn(runtime, workspace, 1, 100, "later")
    with read(runtime.engine) as conn:
        assert store.get_member(conn, workspace.id, 1).points_debt == 0
        kinds = [e.kind for e in points_store.list_entries(conn, workspace.id, 1)]
    assert EntryKind.REPAY in kinds
    assert balances(runtime, workspace, 1) == (20, 20, 20)


def test_expiry_empties_due_lots_and_lowers_the_balance_by_as_much(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    earn(runtime, workspace, 1, 30, "a", expiry=Expiry(mode="rolling", days=5))
    earn(runtime, workspace, 1, 70, "b", expiry=Expiry(mode="rolling", days=50))
    spend(runtime, workspace, 1, 10, "s")
    clock.advance(timedelta(days=6))
    with write(runtime.engine) as conn:
        assert nightly_store.expire_lots(conn, workspace.id, clock.now()) == 1
        assert nightly_store.expire_lots(conn, workspace.id, clock.now()) == 0
    assert balances(runtime, workspace, 1) == (70, 70, 70)


def test_redeeming_spends_the_price_and_claims_the_offer_and_a_refusal_spends_nothing(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    coupon = make_offer(runtime, workspace, stock=1, per_person_limit=5)
    programme = make_programme(runtime, workspace, catalogue=[{"offer_id": coupon.id, "points": 50}])
    earn(runtime, workspace, 1, 200, "e")
    with write(runtime.engine) as conn:
        entry, claim = points.redeem(conn, workspace.id, programme, 1, coupon.id, key="r1", now=clock.now())
    assert entry.points == -50 and claim.profile_id == 1
    with write(runtime.engine) as conn:  # the same key: the same claim, nothing spent again
        again, same = points.redeem(conn, workspace.id, programme, 1, coupon.id, key="r1", now=clock.now())
    assert (again.id, same.id) == (entry.id, claim.id)
    with pytest.raises(OffersError) as refused, write(runtime.engine) as conn:
        points.redeem(conn, workspace.id, programme, 1, coupon.id, key="r2", now=clock.now())
    assert refused.value.code == "offers.out_of_stock"
    assert balances(runtime, workspace, 1) == (150, 150, 150)
