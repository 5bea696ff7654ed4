"""What the rules say a fission reward is worth, and which offers can carry it — plain values, no
database: a split share never leaves the range the offer is checked against, a bargain is worth what
it cuts, a group buy what each price saves, and each offer that can't carry its value names why."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.errors import CampaignError, InvalidRules
from siyu.growth.models import CampaignKind
from siyu.growth.reward_values import check_reward_offers, share_range, valued_rewards
from siyu.growth.rules import parse_rules
from siyu.growth.split_coupon import split_pool
from siyu.offers.models import OfferKind
from tests.offers.test_rules import OFFER

TEXT = {"zh": "规则", "en": "Rules"}
FIXED = replace(OFFER, id=5, kind=OfferKind.FIXED_AMOUNT, threshold_fen=None, amount_fen=1000)


def _rules(kind: CampaignKind, **values: object):  # noqa: ANN202
    return parse_rules(kind, {"description": TEXT, **values})


@given(st.integers(2, 100), st.integers(0, 500), st.integers(0, 100_000), st.integers(0, 2**32))
@settings(max_examples=300, deadline=None)
def test_every_share_is_inside_the_range_the_offer_is_checked_against(claimers, minimum, extra, seed):
    rules = _rules(CampaignKind.SPLIT_COUPON, pool_fen=max(1, claimers * minimum + extra), claimers=claimers,
                   minimum_fen=minimum)
    low, high = share_range(rules)
    assert all(low <= share <= high for share in split_pool(pool_fen=rules.pool_fen, shares=claimers,
                                                            minimum_fen=minimum, seed=seed))


def test_bargain_and_group_buy_values() -> None:
    bargain = _rules(CampaignKind.BARGAIN, start_price_fen=19_900, target_price_fen=990, expected_helpers=5,
                     reward={"offer_id": 5})
    assert [(v.field, v.offer_id, v.low_fen) for v in valued_rewards(bargain)] == [("reward", 5, 18_910)]
    group = _rules(CampaignKind.GROUP_BUY, group_size=3, list_price_fen=9900, leader_price_fen=4900,
                   member_price_fen=5900, leader_reward={"offer_id": 5}, member_reward={"offer_id": 6})
    assert [(v.field, v.offer_id, v.low_fen) for v in valued_rewards(group)] == [
        ("leader_reward", 5, 5000), ("member_reward", 6, 4000)]
    assert valued_rewards(_rules(CampaignKind.ASSIST, helpers_needed=2, reward={"offer_id": 5})) == []


def test_a_group_buy_s_list_price_is_optional_but_above_both_prices() -> None:
    assert _rules(CampaignKind.GROUP_BUY, group_size=3, leader_price_fen=4900, member_price_fen=5900)
    with pytest.raises(InvalidRules, match="above both"):
        _rules(CampaignKind.GROUP_BUY, group_size=3, list_price_fen=5900, leader_price_fen=4900,
               member_price_fen=5900)


SPLIT = {"pool_fen": 2000, "claimers": 3, "minimum_fen": 100, "offer_id": 5}
GROUP = {"group_size": 3, "leader_price_fen": 4900, "member_price_fen": 5900, "member_reward": {"offer_id": 5}}


@pytest.mark.parametrize(("kind", "rules", "offer", "code"), [
    (CampaignKind.SPLIT_COUPON, SPLIT, FIXED, None),
    (CampaignKind.SPLIT_COUPON, SPLIT, None, "campaigns.offer_not_found"),
    (CampaignKind.SPLIT_COUPON, SPLIT, replace(FIXED, kind=OfferKind.PERCENTAGE), "campaigns.offer_not_amount"),
    (CampaignKind.SPLIT_COUPON, {**SPLIT, "minimum_fen": 0}, FIXED, "campaigns.face_value_out_of_range"),
    (CampaignKind.SPLIT_COUPON, SPLIT, replace(FIXED, kind=OfferKind.RED_PACKET), None),
    (CampaignKind.SPLIT_COUPON, {**SPLIT, "minimum_fen": 99}, replace(FIXED, kind=OfferKind.RED_PACKET),
     "campaigns.face_value_out_of_range"),
    (CampaignKind.SPLIT_COUPON, SPLIT, replace(FIXED, kind=OfferKind.THRESHOLD, threshold_fen=1000),
     "campaigns.face_value_out_of_range"),  # the last share can be 1,800: more than the threshold
    (CampaignKind.GROUP_BUY, GROUP, FIXED, "campaigns.list_price_required"),
    (CampaignKind.GROUP_BUY, {**GROUP, "list_price_fen": 9900}, FIXED, None),
    (CampaignKind.GROUP_BUY, GROUP, replace(FIXED, kind=OfferKind.FREE_GIFT), None),  # granted as the offer says
    (CampaignKind.BARGAIN, {"start_price_fen": 100_000, "target_price_fen": 0, "expected_helpers": 3,
                            "reward": {"offer_id": 5}}, replace(FIXED, kind=OfferKind.RED_PACKET),
     "campaigns.face_value_out_of_range"),  # a 1,000-yuan red packet
])
def test_an_offer_that_cannot_carry_the_value_is_named(kind: CampaignKind, rules: dict, offer: object,
                                                       code: str | None) -> None:
    parsed = _rules(kind, **rules)
    if code is None:
        check_reward_offers(parsed, {5: offer})
        return
    with pytest.raises(CampaignError) as refused:
        check_reward_offers(parsed, {5: offer})
    assert (refused.value.code, refused.value.status) == (code, 422)
