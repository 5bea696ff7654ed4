"""What a fission campaign's reward is worth when its rules say so, and whether its offer can carry
that value. Pure: the offers are passed in.

The issue's mechanics decide money, not just "a coupon": a split coupon hands each claimer a random
share of a pool, a bargain takes the price from start to target, a group buy sells at the leader's or
the members' price. The reward's coupon must be worth exactly that — a claim carries it as its own
face value (:func:`siyu.offers.service.claim_offer` with ``amount_fen``) — or the brand gives more
than the rules allow (a 2,000-fen pool with a 1,000-fen coupon and three claimers gave 3,000 fen).

- **split coupon**: a share, between ``minimum_fen`` and ``pool − (claimers − 1) × minimum_fen`` (the
  last share takes what is left; :mod:`siyu.growth.split_coupon`). The offer *must* be amount-valued:
  a share can't be a percentage or a gift;
- **bargain**: ``start − target``, the amount bargained off;
- **group buy**: ``list − leader price`` for the leader, ``list − member price`` for members — with a
  list price; an amount-valued offer needs one (without it nobody knows what the group price saves).

A reward whose offer is not amount-valued (a bargain's free gift, a group buy's percentage coupon) is
granted as the offer says; its value is still what the reward costs the budget unless the operator
set ``cost_fen``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from siyu.growth.errors import CampaignError
from siyu.growth.rules import BargainRules, CommonRules, GroupBuyRules, SplitCouponRules
from siyu.offers.models import AMOUNT_KINDS, Offer
from siyu.offers.terms import face_value_bounds


@dataclass(frozen=True)
class ValuedReward:
    """A reward the rules give a value: where it is in the rules, its offer, and the least and most one
    grant of it is worth (equal but for a split coupon's shares). ``low_fen`` is None when the rules
    can't say (a group buy without a list price)."""

    field: str
    offer_id: int | None
    low_fen: int | None
    high_fen: int | None
    must_be_amount: bool = False  # the offer has to be amount-valued (a split coupon's)


def share_range(rules: SplitCouponRules) -> tuple[int, int]:
    """The least and most one share of the pool can be (:func:`siyu.growth.split_coupon.split_pool`)."""
    return rules.minimum_fen, rules.pool_fen - (rules.claimers - 1) * rules.minimum_fen


def bargain_value(rules: BargainRules) -> int:
    """What reaching the target saves: the price bargained off."""
    return rules.start_price_fen - rules.target_price_fen


def group_values(rules: GroupBuyRules) -> tuple[int | None, int | None]:
    """What the leader's and a member's group price save against the list price (None without one)."""
    if rules.list_price_fen is None:
        return None, None
    return rules.list_price_fen - rules.leader_price_fen, rules.list_price_fen - rules.member_price_fen


def valued_rewards(rules: CommonRules) -> list[ValuedReward]:
    """The rewards of ``rules`` whose value the rules decide (none for the other kinds)."""
    match rules:
        case SplitCouponRules():
            low, high = share_range(rules)
            return [ValuedReward("offer_id", rules.offer_id, low, high, must_be_amount=True)]
        case BargainRules():
            value = bargain_value(rules)
            return [ValuedReward("reward", rules.reward.offer_id, value, value)]
        case GroupBuyRules():
            leader, member = group_values(rules)
            return [ValuedReward(name, spec.offer_id, value, value)
                    for name, spec, value in (("leader_reward", rules.leader_reward, leader),
                                              ("member_reward", rules.member_reward, member)) if spec is not None]
        case _:
            return []


def valued_offer_ids(rules: CommonRules) -> list[int]:
    """The offers :func:`check_reward_offers` needs to see for ``rules``, in id order (none: nothing to
    check, the rules alone hold together)."""
    return sorted({valued.offer_id for valued in valued_rewards(rules) if valued.offer_id is not None})


def check_reward_offers(rules: CommonRules, offers: Mapping[int, Offer | None]) -> None:
    """Raise :class:`CampaignError` (422) when a valued reward's offer can't carry its value:
    ``campaigns.offer_not_found`` (no such offer in the workspace), ``campaigns.offer_not_amount`` (a
    split coupon's offer is a percentage, a gift, points), ``campaigns.list_price_required`` (a group
    buy's amount-valued offer with no list price to measure the saving against), or
    ``campaigns.face_value_out_of_range`` (a value the offer's kind can't be worth: a red packet under
    1 yuan or over 200, a threshold coupon's amount over its threshold, a share of 0 fen).
    ``offers`` maps each offer id the rules name to the offer, or None."""
    for valued in valued_rewards(rules):
        if valued.offer_id is None:
            continue
        offer = offers.get(valued.offer_id)
        where = {"field": valued.field, "offer_id": valued.offer_id}
        if offer is None:
            raise CampaignError(f"{valued.field}: there is no offer {valued.offer_id} in this workspace.",
                                code="campaigns.offer_not_found", details=where)
        bounds = face_value_bounds(offer)
        if bounds is None:
            if valued.must_be_amount:
                raise CampaignError(
                    f"A split coupon gives each claimer a share of the pool, so its offer must be worth an amount "
                    f"({', '.join(k.value for k in AMOUNT_KINDS)}); offer {offer.id} is {offer.kind.value}.",
                    code="campaigns.offer_not_amount", details={**where, "kind": offer.kind.value})
            continue
        if valued.low_fen is None or valued.high_fen is None:
            raise CampaignError(f"{valued.field}: offer {offer.id} is worth an amount, so the group buy needs "
                                "list_price_fen — its coupon is worth the list price minus the group price.",
                                code="campaigns.list_price_required",
                                details={"field": "list_price_fen", "reward": valued.field, "offer_id": offer.id})
        low, high = bounds
        if valued.low_fen < low or valued.high_fen > high:
            worth = (f"{valued.low_fen}" if valued.low_fen == valued.high_fen
                     else f"{valued.low_fen}-{valued.high_fen}")
            raise CampaignError(
                f"{valued.field}: one grant is worth {worth} fen by these rules, but a claim of this "
                f"{offer.kind.value} offer is worth {low}-{high} fen.",
                code="campaigns.face_value_out_of_range",
                details={**where, "kind": offer.kind.value, "worth": [valued.low_fen, valued.high_fen],
                         "allowed": [low, high]})
