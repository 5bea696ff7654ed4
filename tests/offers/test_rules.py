"""The pure decisions: templates, validity windows, codes and redemption — plain values, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from siyu.offers import codes, redemption, terms, validity
from siyu.offers.errors import OffersError
from siyu.offers.models import Claim, ClaimStatus, CodeSource, Offer, OfferKind, OfferStatus

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
OFFER = Offer(id=1, name="满100减20", kind=OfferKind.THRESHOLD, status=OfferStatus.ACTIVE, stock=10, claimed=0,
              redeemed=0, per_person_limit=1, amount_fen=2000, percent_off=None, threshold_fen=10000, points=None,
              gift_name=None, valid_from=None, valid_until=None, valid_days=7, channels=None, products=None,
              campaign_id=None, cost_fen=2000, code_source=CodeSource.GENERATED, description="", created_at=NOW,
              updated_at=NOW)
CLAIM = Claim(id=1, offer_id=1, profile_id=1, code="ABCDEFGHJKMN", status=ClaimStatus.CLAIMED, claimed_at=NOW,
              valid_from=NOW, valid_until=NOW + timedelta(days=7))
ORDER = redemption.Order("o-1", 12000, "store", ("SKU-1",))


@pytest.mark.parametrize(("values", "field"), [
    ({"kind": "fixed_amount", "amount_fen": 0}, "amount_fen"),
    ({"kind": "percentage", "percent_off": 100}, "percent_off"),
    ({"kind": "threshold", "threshold_fen": 1000, "amount_fen": 1001}, "amount_fen"),
    ({"kind": "free_gift", "gift_name": ""}, "gift_name"),
    ({"kind": "points", "points": 0}, "points"),
    ({"kind": "red_packet", "amount_fen": 50}, "amount_fen"),
    ({"kind": "physical_gift", "gift_name": " "}, "gift_name"),
    ({"kind": "points", "points": 5, "stock": -1}, "stock"),
    ({"kind": "points", "points": 5, "channels": []}, "channels"),
    ({"kind": "points", "points": 5, "valid_days": 3, "valid_from": NOW}, "valid_days"),
    ({"kind": "points", "points": 5, "valid_from": NOW, "valid_until": NOW}, "valid_until"),
])
def test_templates_that_do_not_hold_together_are_refused_naming_the_field(values: dict, field: str) -> None:
    with pytest.raises(OffersError) as refused:
        terms.check_offer({"name": "x", "stock": 5, "per_person_limit": 1, **values})
    assert refused.value.details["field"] == field


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(OffersError) as refused:
        terms.check_offer({"name": "x", "kind": "lottery", "stock": 1, "per_person_limit": 1})
    assert refused.value.details == {"field": "kind"}


@pytest.mark.parametrize(("kind", "values", "cost"), [
    ("fixed_amount", {"amount_fen": 500}, 500), ("red_packet", {"amount_fen": 188}, 188),
    ("percentage", {"percent_off": 10}, 0), ("points", {"points": 10, "cost_fen": 3}, 3),
])
def test_the_budget_cost_defaults_to_the_money_given(kind: str, values: dict, cost: int) -> None:
    checked = terms.check_offer({"name": "x", "kind": kind, "stock": 1, "per_person_limit": 1, **values})
    assert checked["cost_fen"] == cost


def test_validity_is_absolute_or_relative_to_the_claim() -> None:
    assert validity.claim_window(OFFER, NOW) == (NOW, NOW + timedelta(days=7))
    dated = replace(OFFER, valid_days=None, valid_from=NOW, valid_until=NOW + timedelta(days=1))
    assert validity.claim_window(dated, NOW - timedelta(days=3)) == (NOW, NOW + timedelta(days=1))
    assert validity.issue_refusal(dated, NOW - timedelta(days=3)) is None  # handed out before it is usable
    assert validity.issue_refusal(dated, NOW + timedelta(days=1)) == "The offer's validity is over."
    assert validity.issue_refusal(replace(OFFER, status=OfferStatus.ENDED), NOW) == "The offer has ended."


@pytest.mark.parametrize(("change", "order", "reason"), [
    ({}, {}, None),
    ({"status": ClaimStatus.REDEEMED}, {}, "used"),
    ({"status": ClaimStatus.VOIDED}, {}, "voided"),
    ({"valid_from": NOW + timedelta(hours=1)}, {}, "not_yet_valid"),
    ({"valid_until": NOW}, {}, "expired"),
    ({}, {"amount_fen": 9999}, "threshold"),
])
def test_redemption_checks_the_claim_and_the_order(change: dict, order: dict, reason: str | None) -> None:
    decision = redemption.decide(OFFER, replace(CLAIM, **change), replace(ORDER, **order), NOW)
    assert decision.reason == reason
    assert decision.allowed is (reason is None)


def test_channel_and_product_restrictions() -> None:
    limited = replace(OFFER, channels=["mini_program"], products=["SKU-2"])
    assert redemption.decide(limited, CLAIM, ORDER, NOW).reason == "channel"
    assert redemption.decide(limited, CLAIM, replace(ORDER, channel="mini_program"), NOW).reason == "product"
    both = replace(ORDER, channel="mini_program", products=("SKU-1", "SKU-2"))
    assert redemption.decide(limited, CLAIM, both, NOW).allowed


@pytest.mark.parametrize(("kind", "values", "amount", "off"), [
    (OfferKind.FIXED_AMOUNT, {"amount_fen": 500}, 300, 300),  # never more than the order
    (OfferKind.PERCENTAGE, {"percent_off": 15}, 999, 149),  # rounded down
    (OfferKind.THRESHOLD, {"amount_fen": 2000}, 10000, 2000),
    (OfferKind.FREE_GIFT, {}, 10000, 0),
])
def test_the_discount(kind: OfferKind, values: dict, amount: int, off: int) -> None:
    assert redemption.discount(replace(OFFER, kind=kind, **values), amount) == off


def test_codes_are_readable_unique_and_typed_back_forgivingly() -> None:
    batch = codes.generate_batch(2000)
    assert len(set(batch)) == 2000 and all(len(c) == 12 and set(c) <= set(codes.ALPHABET) for c in batch)
    assert not set(codes.ALPHABET) & set("01OILU")
    assert codes.normalise(" abcd-efgh jkmn ") == "ABCDEFGHJKMN"
    assert codes.display("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"


def test_an_imported_file_is_all_or_nothing() -> None:
    assert codes.parse_csv("\ufeffcode\nab-cd-12\n\nXYZ9\n") == (["ABCD12", "XYZ9"], [])
    assert codes.parse_csv("\r0")[1] == ["line 2: '0' is not 4-64 letters and digits"]  # found by the API fuzz test
    assert codes.parse_csv("AB\x00CD\n")[1] == ["line 1: 'AB\x00CD' is not 4-64 letters and digits"]
    found, problems = codes.parse_csv("AAAA\naaaa\nx\n")
    assert problems == ["line 2: 'AAAA' appears twice", "line 3: 'x' is not 4-64 letters and digits"]


def test_a_date_without_a_zone_is_taken_as_utc() -> None:
    checked = terms.check_offer({"name": "x", "kind": "points", "points": 1, "stock": 1, "per_person_limit": 1,
                                 "valid_from": NOW, "valid_until": datetime(2026, 12, 31)})
    assert checked["valid_until"] == datetime(2026, 12, 31, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["fixed_amount", "percentage", "threshold", "free_gift"])
def test_a_coupon_needs_only_the_contract_s_four_fields(kind: str) -> None:
    checked = terms.check_offer({"name": "秒杀券", "kind": kind, "stock": 1000, "per_person_limit": 1})
    assert (checked["kind"], checked["cost_fen"]) == (kind, 0)


@pytest.mark.parametrize(("kind", "field"), [("points", "points"), ("red_packet", "amount_fen"),
                                             ("physical_gift", "gift_name")])
def test_a_reward_siyu_delivers_needs_what_it_gives(kind: str, field: str) -> None:
    with pytest.raises(OffersError) as refused:
        terms.check_offer({"name": "x", "kind": kind, "stock": 1, "per_person_limit": 1})
    assert refused.value.details["field"] == field
