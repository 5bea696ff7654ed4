"""Claiming, voiding and expiring on both databases: stock, the per-person limit, budgets, keys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.offers import service, store
from siyu.offers.errors import OffersError
from siyu.offers.models import ClaimStatus
from tests.offers.helpers import NOW, claim, make_offer, offer


def test_a_claim_takes_one_unit_and_gets_a_unique_readable_code(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    coupon = make_offer(runtime, workspace, stock=3, valid_days=7)
    first, second = claim(runtime, workspace, coupon.id, 1, "k1"), claim(runtime, workspace, coupon.id, 2, "k2")
    assert first.status is ClaimStatus.CLAIMED and first.code != second.code
    assert len(first.code) == 12 and not set(first.code) & set("01OILU")
    assert (first.valid_from, first.valid_until) == (NOW, NOW + timedelta(days=7))
    after = offer(runtime, workspace, coupon.id)
    assert (after.claimed, after.remaining) == (2, 1)


def test_stock_runs_out_and_the_limit_holds(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=2, per_person_limit=1)
    assert claim(runtime, workspace, coupon.id, 1, "a").code
    assert claim(runtime, workspace, coupon.id, 1, "b") == "offers.limit_reached"
    assert claim(runtime, workspace, coupon.id, 2, "c").code
    assert claim(runtime, workspace, coupon.id, 3, "d") == "offers.out_of_stock"
    assert offer(runtime, workspace, coupon.id).claimed == 2


def test_a_repeated_key_returns_the_first_answer_and_takes_nothing(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=1, per_person_limit=2)
    first = claim(runtime, workspace, coupon.id, 1, "same")
    again = claim(runtime, workspace, coupon.id, 1, "same")
    assert (again.id, again.code) == (first.id, first.code)
    assert claim(runtime, workspace, coupon.id, 2, "refused") == "offers.out_of_stock"
    with write(runtime.engine) as conn:  # stock comes back ...
        service.void_claim(conn, workspace.id, first.id, reason="test", now=clock.now())
    # ... but a refused key keeps its first answer, and a new key may claim
    assert claim(runtime, workspace, coupon.id, 2, "refused") == "offers.out_of_stock"
    assert claim(runtime, workspace, coupon.id, 2, "fresh").status is ClaimStatus.CLAIMED
    assert claim(runtime, workspace, coupon.id, 3, "fresh") == "offers.key_reused"
    assert offer(runtime, workspace, coupon.id).claimed == 1


def test_a_rolled_back_refusal_leaves_the_key_free(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=0)
    with pytest.raises(OffersError), write(runtime.engine) as conn:
        service.claim_offer(conn, workspace.id, coupon.id, profile_id=1, idempotency_key="k", now=clock.now())
    with read(runtime.engine) as conn:
        assert store.list_claims(conn, workspace.id, offer_id=coupon.id, status="refused") == []


def test_void_gives_back_stock_limit_and_budget_and_is_idempotent(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=1, campaign_id=77, amount_fen=500)
    with write(runtime.engine) as conn:
        store.set_budget(conn, workspace.id, 77, 500, clock.now())
    held = claim(runtime, workspace, coupon.id, 1, "k1")
    assert claim(runtime, workspace, coupon.id, 2, "k2") == "offers.out_of_stock"
    with write(runtime.engine) as conn:
        voided = service.void_claim(conn, workspace.id, held.id, reason="group failed", now=clock.now())
        again = service.void_claim(conn, workspace.id, held.id, reason="again", now=clock.now())
        budgets = store.list_budgets(conn, workspace.id)
    assert (voided.status, again.void_reason) == (ClaimStatus.VOIDED, "group failed")
    assert budgets[0]["spent_fen"] == 0 and offer(runtime, workspace, coupon.id).claimed == 0
    assert claim(runtime, workspace, coupon.id, 1, "k3").status is ClaimStatus.CLAIMED  # the limit came back too


def test_a_campaign_budget_stops_issuance_when_spent(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=100, amount_fen=300, per_person_limit=5)
    with write(runtime.engine) as conn:
        store.set_budget(conn, workspace.id, 9, 1000, clock.now())
    got = [claim(runtime, workspace, coupon.id, 1, f"k{n}", campaign_id=9) for n in range(5)]
    assert [g if isinstance(g, str) else "ok" for g in got] == ["ok"] * 3 + ["offers.budget_spent"] * 2
    assert offer(runtime, workspace, coupon.id).claimed == 3
    assert claim(runtime, workspace, coupon.id, 1, "no-campaign").code  # no budget named: no budget applies


def test_an_ended_or_past_offer_issues_nothing(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    dated = make_offer(runtime, workspace, valid_until=NOW + timedelta(days=1))
    clock.freeze(NOW + timedelta(days=1))
    assert claim(runtime, workspace, dated.id, 1, "late") == "offers.expired"
    ending = make_offer(runtime, workspace)
    with write(runtime.engine) as conn:
        service.end_offer(conn, workspace.id, ending.id, now=clock.now())
    assert claim(runtime, workspace, ending.id, 1, "ended") == "offers.expired"
    assert claim(runtime, workspace, 10**9, 1, "none") == "offers.not_found"


def test_unused_claims_expire_after_their_validity(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    coupon = make_offer(runtime, workspace, valid_days=3, per_person_limit=2)
    old = claim(runtime, workspace, coupon.id, 1, "old")
    clock.advance(timedelta(days=2))
    young = claim(runtime, workspace, coupon.id, 1, "young")
    clock.advance(timedelta(days=1))
    with write(runtime.engine) as conn:
        assert service.expire_claims(conn, workspace.id, now=clock.now()) == 1
        assert service.expire_claims(conn, workspace.id, now=clock.now()) == 0
        assert store.get_claim(conn, workspace.id, old.id).status is ClaimStatus.EXPIRED
        assert store.get_claim(conn, workspace.id, young.id).status is ClaimStatus.CLAIMED
    assert offer(runtime, workspace, coupon.id).claimed == 2  # an expired coupon was still issued


def test_another_workspace_sees_nothing(runtime, workspace, other_workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace)
    assert claim(runtime, other_workspace, coupon.id, 1, "k") == "offers.not_found"
    with read(runtime.engine) as conn:
        assert store.list_offers(conn, other_workspace.id) == []


def test_a_refusal_after_the_claim_was_written_gives_everything_back(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=5, amount_fen=400, per_person_limit=5, campaign_id=31)
    with write(runtime.engine) as conn:
        service.add_codes(conn, workspace.id, coupon.id, ["POOL0001", "POOL0002"], now=clock.now())
        store.set_budget(conn, workspace.id, 31, 400, clock.now())
    first = claim(runtime, workspace, coupon.id, 1, "k1")
    assert first.code == "POOL0001"
    assert claim(runtime, workspace, coupon.id, 1, "k2") == "offers.budget_spent"
    with read(runtime.engine) as conn:
        [refused] = store.list_claims(conn, workspace.id, offer_id=coupon.id, status="refused")
        assert (refused.code, refused.valid_until, refused.error_code) == (None, None, "offers.budget_spent")
        assert store.pool_counts(conn, workspace.id, coupon.id) == {"pool_size": 2, "pool_free": 1}
        assert store.list_budgets(conn, workspace.id)[0]["spent_fen"] == 400
    with write(runtime.engine) as conn:
        store.set_budget(conn, workspace.id, 31, 800, clock.now())
    assert claim(runtime, workspace, coupon.id, 1, "k3").code == "POOL0002"  # the code the refusal took came back
    assert offer(runtime, workspace, coupon.id).claimed == 2
