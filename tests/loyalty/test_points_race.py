"""Many spenders at once on the same members, each thread on its own connection, on SQLite and
PostgreSQL, while expiry runs: nobody's balance goes negative, no point is spent twice, and every
balance equals its ledger and its lots."""

from __future__ import annotations

import threading
from datetime import timedelta

from siyu import clock
from siyu.db.engine import write
from siyu.loyalty import nightly_store
from siyu.loyalty.models import Expiry
from tests.loyalty.helpers import NOW, balances, earn, spend

THREADS = 8


def test_concurrent_spenders_never_overdraw_and_never_spend_a_point_twice(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    people = (1, 2, 3)
    for person in people:
        earn(runtime, workspace, person, 100, f"soon{person}", expiry=Expiry(mode="rolling", days=1))
        earn(runtime, workspace, person, 200, f"late{person}", expiry=Expiry(mode="rolling", days=100))
    clock.freeze(NOW + timedelta(days=2))  # the 100-point lots are due: expiry races the spenders
    jobs = [(people[n % 3], 7, f"spend{n}") for n in range(90)] + [(people[n % 3], 7, f"spend{n % 30}")
                                                                    for n in range(30)]  # 30 retried keys
    results: list = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS + 1)

    def run(share: list) -> None:
        start.wait()
        for person, amount, key in share:
            outcome = spend(runtime, workspace, person, amount, key)
            with lock:
                results.append((person, key, outcome))

    def expire() -> None:
        start.wait()
        with write(runtime.engine) as conn:
            nightly_store.expire_lots(conn, workspace.id, clock.now())

    threads = [threading.Thread(target=run, args=(jobs[n::THREADS],)) for n in range(THREADS)]
    threads.append(threading.Thread(target=expire))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(jobs)
    codes = {r for _, _, r in results if isinstance(r, str)}
    assert codes <= {"loyalty.insufficient_points"}, codes
    for person in people:
        spent_keys = {key for p, key, r in results if p == person and not isinstance(r, str)}
        balance, ledger, held = balances(runtime, workspace, person)
        assert balance >= 0
        assert balance == ledger == held
        # every distinct spend key debited 7 once; the 100 expired unless spent first
        assert balance == 300 - 7 * len(spent_keys) - _expired(runtime, workspace, person)


def _expired(runtime, workspace, person: int) -> int:  # noqa: ANN001
    from sqlalchemy import func, select

    from siyu.db.engine import read
    from siyu.db.tables import points_entries

    with read(runtime.engine) as conn:
        return -int(conn.execute(select(func.coalesce(func.sum(points_entries.c.points), 0)).where(
            points_entries.c.workspace_id == workspace.id, points_entries.c.profile_id == person,
            points_entries.c.kind == "expire")).scalar_one())
