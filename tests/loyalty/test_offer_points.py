"""A points offer's claim credits the ledger once, its void takes the points back (what was spent
already becomes debt), and an event of the same name from elsewhere credits nothing."""

from __future__ import annotations

from siyu import clock
from siyu.db.engine import read, write
from siyu.loyalty import points_store, worker
from siyu.offers import service as offers
from siyu.profiles.read_store import append_profile_events
from tests.loyalty.helpers import NOW, TZ, balances, make_programme, spend
from tests.offers.helpers import claim, make_offer


def test_claimed_points_are_credited_once_and_a_void_takes_them_back(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    offer = make_offer(runtime, workspace, name="积分礼包", kind="points", points=50, stock=10)
    granted = claim(runtime, workspace, offer.id, 41, "points-1")
    assert not isinstance(granted, str)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())  # again: nothing twice
    assert balances(runtime, workspace, 41) == (50, 50, 50)

    assert not isinstance(spend(runtime, workspace, 41, 30, "spend-1"), str)
    with write(runtime.engine) as conn:
        offers.void_claim(conn, workspace.id, granted.id, reason="test", now=clock.now())
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    balance, ledger, lots = balances(runtime, workspace, 41)
    assert (balance, ledger, lots) == (0, 0, 0)  # 20 left taken back; the 30 spent is owed


def test_a_points_earned_event_from_elsewhere_credits_nothing(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    with write(runtime.engine) as conn:
        append_profile_events(conn, workspace.id, [(42, "Points Earned", {"points": 1000, "claim_id": 1})],
                              "brand_app", clock.now())
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    with read(runtime.engine) as conn:
        assert points_store.ledger_totals(conn, workspace.id, 42) == (0, 0)  # no entry, no lot
