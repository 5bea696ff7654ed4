"""The demo brand's distribution: promoters, touches, orders, a ledger whose balances are its sums,
one payout and one refund after it; and running it again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu import clock
from siyu.db.engine import read
from siyu.demo.distribution import distribution
from siyu.growth import distribution_store as store
from siyu.growth.distribution_models import EntryKind


def test_the_demo_runs_distribution_end_to_end_once(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    found = distribution(runtime, workspace.id, seed=7)
    assert found["promoters"] == 5 and found["touches"] == 60 and found["orders"] > 10
    assert found["commissions"] > found["orders"] and found["paid_fen"] > 0
    assert found["adjusted"] in (1, 2)  # the refunded paid order: its level 1 row, and level 2 if any
    with read(runtime.engine) as conn:
        promoters = store.list_promoters(conn, workspace.id)
        rows = store.list_commissions(conn, workspace.id, limit=None)
        sums = store.balances(conn, workspace.id)
        assert store.paid_total(conn, workspace.id) == (found["paid_fen"], found["paid_fen"])
    assert sorted(p.kind.value for p in promoters) == ["koc", "koc", "koc", "staff", "staff"]
    assert all(p.parent_id is not None for p in promoters if p.kind.value == "koc")
    assert {r.status.value for r in rows} >= {"paid", "pending"}
    assert sum(r.kind is EntryKind.ADJUSTMENT for r in rows) == found["adjusted"]
    for promoter_id, by_status in sums.items():
        for status in ("pending", "confirmed", "paid", "reversed"):
            assert by_status[status] == sum(r.amount_fen for r in rows
                                            if r.promoter_id == promoter_id and r.status.value == status)
    assert distribution(runtime, workspace.id, seed=7) == {}
    with read(runtime.engine) as conn:
        assert len(store.list_commissions(conn, workspace.id, limit=None)) == len(rows)
