"""Properties of the lot arithmetic: FIFO consumption in isolation, and random sequences of earn,
spend, refund, expiry and time travel on the real ledger (both databases), after each of which the
balance is never negative and equals the sum of the ledger and of the lots."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu import clock
from siyu.db.engine import write
from siyu.loyalty import lots, nightly_store, points
from siyu.loyalty.models import Expiry, Lot
from tests.loyalty.helpers import NOW, balances, earn, make_programme, spend

counter = itertools.count(1)
lot_lists = st.lists(st.tuples(st.integers(0, 50), st.one_of(st.none(), st.integers(0, 100))), max_size=12)


@given(lot_lists, st.integers(0, 700))
def test_consume_takes_min_of_amount_and_held_never_more_than_a_lot_and_oldest_expiry_first(
        spec: list[tuple[int, int | None]], amount: int) -> None:
    held = [Lot(n + 1, r, r, None if d is None else NOW + timedelta(days=d), None, NOW)
            for n, (r, d) in enumerate(spec)]
    taken = lots.consume(held, amount)
    by_id = {lot.id: lot for lot in held}
    assert sum(p for _, p in taken) == min(amount, sum(lot.remaining for lot in held))
    assert all(0 < p <= by_id[i].remaining for i, p in taken)
    order = [lot.id for lot in lots.fifo_order(held) if lot.remaining > 0]
    assert [i for i, _ in taken] == order[:len(taken)]  # a prefix of the FIFO order
    assert all(p == by_id[i].remaining for i, p in taken[:-1])  # only the last lot is taken in part


operations = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 60)),
    st.tuples(st.just("order"), st.integers(1, 60)),
    st.tuples(st.just("spend"), st.integers(1, 80)),
    st.tuples(st.just("refund"), st.integers(0, 5)),
    st.tuples(st.just("days"), st.integers(1, 20)),
), min_size=1, max_size=14)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_random_ledger_histories_keep_balance_ledger_and_lots_equal(runtime, workspace, ops) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    if not hasattr(workspace, "_programme"):
        make_programme(runtime, workspace)
        workspace._programme = True  # noqa: SLF001 - once per workspace, not per example
    profile = 10_000 + next(counter)
    orders: list[str] = []
    for kind, value in ops:
        key = f"k{profile}-{next(counter)}"
        if kind == "earn":
            earn(runtime, workspace, profile, value, key, expiry=Expiry(mode="rolling", days=15))
        elif kind == "order":
            orders.append(f"o{key}")
            earn(runtime, workspace, profile, value, key, expiry=Expiry(mode="rolling", days=15), order_id=orders[-1])
        elif kind == "spend":
            spend(runtime, workspace, profile, value, key)
        elif kind == "refund" and orders:
            with write(runtime.engine) as conn:
                points.reverse_order(conn, workspace.id, orders[value % len(orders)], now=clock.now())
        elif kind == "days":
            clock.advance(timedelta(days=value))
            with write(runtime.engine) as conn:
                nightly_store.expire_lots(conn, workspace.id, clock.now())
        if kind != "days" or orders:
            try:
                balance, ledger, held = balances(runtime, workspace, profile)
            except Exception:  # noqa: BLE001 - not a member yet (only time travelled)
                continue
            assert balance >= 0
            assert balance == ledger == held
