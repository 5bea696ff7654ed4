"""Many claimers at once, each thread on its own connection, on SQLite and PostgreSQL: exactly the
stock is granted, nobody holds more than the per-person limit, and retried keys claim nothing more."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from siyu.db.engine import read
from siyu.db.tables import offer_claims, offer_holdings
from siyu.offers import store
from siyu.offers.models import ClaimStatus
from tests.offers.helpers import claim, make_offer, offer

THREADS = 8


def _race(jobs: list[tuple[int, str]], work) -> list:  # noqa: ANN001
    """Run ``work(profile, key)`` for every job across THREADS threads released together."""
    results: list = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def run(share: list[tuple[int, str]]) -> None:
        start.wait()
        for profile, key in share:
            outcome = work(profile, key)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(jobs[n::THREADS],)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == len(jobs)
    return results


@pytest.mark.parametrize(("stock", "people", "granted", "refusals"), [
    (13, 9, 13, {"offers.out_of_stock"}),  # the stock binds (9 people could hold 18)
    (100, 5, 10, {"offers.limit_reached"}),  # the limit binds: everyone ends with exactly 2
])
def test_concurrent_claimers_get_exactly_what_stock_and_limit_allow(runtime, workspace, stock: int, people: int,  # noqa: ANN001
                                                                    granted: int, refusals: set[str]) -> None:
    coupon = make_offer(runtime, workspace, stock=stock, per_person_limit=2)
    jobs = [(1000 + n % people, f"k{n}") for n in range(120)]
    results = _race(jobs, lambda profile, key: claim(runtime, workspace, coupon.id, profile, key))
    won = [r for r in results if not isinstance(r, str)]
    assert len(won) == granted
    assert refusals <= set(r for r in results if isinstance(r, str)) <= {"offers.out_of_stock", "offers.limit_reached"}
    per_person = Counter(c.profile_id for c in won)
    assert max(per_person.values()) <= 2
    assert len({c.code for c in won}) == granted
    after = offer(runtime, workspace, coupon.id)
    assert (after.claimed, after.remaining) == (granted, stock - granted)
    with read(runtime.engine) as conn:
        stored = store.list_claims(conn, workspace.id, offer_id=coupon.id, limit=500)
        held = dict(conn.execute(select(offer_holdings.c.profile_id, offer_holdings.c.held).where(
            offer_holdings.c.workspace_id == workspace.id, offer_holdings.c.offer_id == coupon.id)).all())
        attempts = conn.execute(select(func.count()).select_from(offer_claims).where(
            offer_claims.c.workspace_id == workspace.id, offer_claims.c.offer_id == coupon.id)).scalar_one()
    assert sorted(c.id for c in stored) == sorted(c.id for c in won)
    assert {p: n for p, n in held.items() if n} == dict(per_person)  # the counters agree with the rows
    assert attempts == 120  # every attempt answered and remembered (granted or refused)


def test_retried_keys_claim_nothing_more_under_concurrency(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=4, per_person_limit=3)
    keys = [(2000 + n % 3, f"retry-{n}") for n in range(6)]
    jobs = keys * 8  # every key sent eight times, in parallel
    results = _race(jobs, lambda profile, key: claim(runtime, workspace, coupon.id, profile, key))
    by_key: dict[str, set] = {key: set() for _, key in keys}
    with read(runtime.engine) as conn:
        for _, key in keys:
            first = store.claim_by_key(conn, workspace.id, key)
            by_key[key].add(first.status)
    granted = [r for r in results if not isinstance(r, str)]
    assert len({c.id for c in granted}) == 4  # four keys won a unit; their repeats returned the same claim
    assert all(c.status is ClaimStatus.CLAIMED for c in granted)
    assert Counter(c.id for c in granted).most_common(1)[0][1] == 8
    assert sum(status == {ClaimStatus.REFUSED} for status in by_key.values()) == 2
    assert offer(runtime, workspace, coupon.id).claimed == 4
