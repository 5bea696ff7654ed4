"""A claim's own face value (a fission campaign's share, bargain or group saving): which offers take
one, what it takes off an order, what a red packet pays, what it costs the budget, and that a repeated
key answers the same value. The pure rules with plain values; the claims on both databases."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import offer_claims
from siyu.offers import redemption, service, store, terms
from siyu.offers.errors import OffersError
from siyu.offers.models import OfferKind
from siyu.payments import store as payments_store
from tests.offers.helpers import NOW, claim, make_offer
from tests.offers.test_rules import CLAIM, OFFER, ORDER


@pytest.mark.parametrize(("kind", "values", "bounds"), [
    (OfferKind.FIXED_AMOUNT, {}, (1, terms.MAX_FEN)),
    (OfferKind.THRESHOLD, {"threshold_fen": 10_000}, (1, 10_000)),  # never more off than the threshold
    (OfferKind.RED_PACKET, {}, terms.RED_PACKET_FEN),  # WeChat Pay pays 1-200 yuan
    (OfferKind.PERCENTAGE, {"amount_fen": None, "percent_off": 10}, None),
    (OfferKind.FREE_GIFT, {"amount_fen": None}, None),
    (OfferKind.POINTS, {"amount_fen": None, "points": 5}, None),
    (OfferKind.PHYSICAL_GIFT, {"amount_fen": None}, None),
])
def test_only_an_amount_valued_offer_takes_a_face_value_of_its_own(kind: OfferKind, values: dict,
                                                                   bounds: tuple[int, int] | None) -> None:
    offer = replace(OFFER, kind=kind, **values)
    assert terms.face_value_bounds(offer) == bounds
    if bounds is None:
        with pytest.raises(OffersError) as refused:
            terms.check_face_value(offer, 500)
        assert refused.value.code == "offers.face_value" and refused.value.status == 422
        return
    terms.check_face_value(offer, bounds[0])
    terms.check_face_value(offer, bounds[1])
    for outside in (bounds[0] - 1, bounds[1] + 1):
        with pytest.raises(OffersError) as refused:
            terms.check_face_value(offer, outside)
        assert refused.value.details["allowed"] == list(bounds)


def test_the_claim_s_face_value_is_what_it_takes_off() -> None:
    share = replace(CLAIM, amount_fen=733)
    assert redemption.face_value(OFFER, CLAIM) == 2000 and redemption.face_value(OFFER, share) == 733
    assert redemption.decide(OFFER, share, ORDER, CLAIM.claimed_at).discount_fen == 733
    assert redemption.discount(OFFER, 500, share) == 500  # never more than the order
    assert redemption.discount(OFFER, 12_000) == 2000  # no claim: the offer's amount, as before


@pytest.mark.parametrize(("cost", "amount", "face", "expected"), [
    (2000, 2000, None, 2000),  # no face value of its own: the offer's cost
    (2000, 2000, 733, 733),  # the default cost (the money off) follows the face value
    (1000, 2000, 733, 367),  # half the money off: half the face value, rounded up
    (0, 2000, 733, 0),  # the operator said it costs nothing
    (0, None, 733, 733),  # no amount on the template: the money given away
])
def test_a_face_value_s_cost_to_the_budget(cost: int, amount: int | None, face: int | None, expected: int) -> None:
    assert terms.claim_cost(replace(OFFER, cost_fen=cost, amount_fen=amount), face) == expected


def test_a_claim_carries_its_face_value_and_a_repeated_key_answers_it_again(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    offer = make_offer(runtime, workspace, amount_fen=1000, stock=5, per_person_limit=5)
    first = claim(runtime, workspace, offer.id, 7, "share-1", amount_fen=733)
    assert (first.amount_fen, first.cost_fen) == (733, 733)
    again = claim(runtime, workspace, offer.id, 7, "share-1", amount_fen=999)  # a retry: the first answer stands
    assert (again.id, again.amount_fen) == (first.id, 733)
    plain = claim(runtime, workspace, offer.id, 7, "plain")
    assert (plain.amount_fen, plain.cost_fen) == (None, 1000)
    with write(runtime.engine) as conn:
        used = service.redeem_claim(conn, workspace.id, first.code, order=redemption.Order("o-1", 5000),
                                    idempotency_key="o-1", now=clock.now())
    assert used.discount_fen == 733


def test_a_face_value_the_offer_cannot_carry_is_refused_before_anything_is_taken(runtime, workspace) -> None:  # noqa: ANN001
    percent = make_offer(runtime, workspace, kind="percentage", amount_fen=None, percent_off=20)
    assert claim(runtime, workspace, percent.id, 7, "p", amount_fen=500) == "offers.face_value"
    fixed = make_offer(runtime, workspace, amount_fen=1000)
    assert claim(runtime, workspace, fixed.id, 7, "zero", amount_fen=0) == "offers.face_value"
    with read(runtime.engine) as conn:
        rows = conn.execute(select(offer_claims.c.id).where(offer_claims.c.workspace_id == workspace.id)).all()
        assert rows == [] and store.get_offer(conn, workspace.id, fixed.id).claimed == 0
    assert claim(runtime, workspace, fixed.id, 7, "zero").amount_fen is None  # the key was never taken


def test_a_red_packet_pays_the_claim_s_face_value(runtime, workspace) -> None:  # noqa: ANN001
    offer = make_offer(runtime, workspace, kind="red_packet", amount_fen=888, name="瓜分红包")
    got = claim(runtime, workspace, offer.id, 42, "r1", amount_fen=321)
    with read(runtime.engine) as conn:
        assert payments_store.get_reward(conn, workspace.id, got.reward_id).amount_fen == 321
    assert claim(runtime, workspace, offer.id, 43, "r2", amount_fen=99) == "offers.face_value"  # under 1 yuan


def test_a_face_value_spends_its_own_cost_from_the_campaign_budget(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    offer = make_offer(runtime, workspace, amount_fen=1000, stock=10, per_person_limit=10)
    with write(runtime.engine) as conn:
        store.set_budget(conn, workspace.id, 77, 1500, clock.now())
    shares = [claim(runtime, workspace, offer.id, 7, f"s{n}", amount_fen=700, campaign_id=77) for n in range(3)]
    assert [s if isinstance(s, str) else s.cost_fen for s in shares] == [700, 700, "offers.budget_spent"]
    with write(runtime.engine) as conn:
        service.void_claim(conn, workspace.id, shares[0].id, reason="test", now=clock.now())
    with read(runtime.engine) as conn:
        assert next(b for b in store.list_budgets(conn, workspace.id) if b["campaign_id"] == 77)["spent_fen"] == 700
