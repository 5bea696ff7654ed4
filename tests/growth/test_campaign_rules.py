"""Each kind's rules as a specification (pure, no database): what is refused and where, the editor's
starter rules are valid, and the page's facts say what the rules decide."""

from __future__ import annotations

import pytest

from siyu.growth.errors import InvalidRules
from siyu.growth.landing import rule_facts
from siyu.growth.models import CampaignKind
from siyu.growth.rules import parse_rules, rewards_of
from siyu.web.campaign_routes import STARTER_RULES

DESCRIPTION = {"description": {"zh": "规则", "en": "Rules"}}


@pytest.mark.parametrize("kind", list(CampaignKind))
def test_the_editor_s_starter_rules_are_valid_for_every_kind(kind: CampaignKind) -> None:
    parsed = parse_rules(kind, {**DESCRIPTION, **STARTER_RULES[kind.value]})
    assert rule_facts(parsed, "zh") and rule_facts(parsed, "en")


@pytest.mark.parametrize(("kind", "rules", "where", "says"), [
    ("referral", {"inviter_reward": {}, "qualifying": "follow_stay", "stay_days": 10, "attribution_days": 7}, "",
     "stay_days must fit inside attribution_days"),
    ("referral", {"inviter_reward": {}, "qualifying": "first_purchase"}, "qualifying", "first_order"),
    ("assist", {"helpers_needed": 0, "reward": {}}, "helpers_needed", "greater than or equal to 1"),
    ("task_unlock", {"tiers": []}, "tiers", "at least 1"),
    ("leaderboard", {"prizes": [{"rank_from": 1, "rank_to": 3, "reward": {}},
                                {"rank_from": 3, "rank_to": 5, "reward": {}}]}, "", "non-overlapping"),
    ("bargain", {"start_price_fen": 100, "target_price_fen": 98, "expected_helpers": 5}, "", "one fen per"),
    ("split_coupon", {"pool_fen": 100, "claimers": 5, "minimum_fen": 50}, "", "minimum_fen"),
    ("check_in", {"streak_rewards": {"three": {}}}, "", "streak lengths"),
    ("group_buy", {"group_size": 3, "leader_price_fen": 1, "member_price_fen": 1, "auto_fill": True,
                   "auto_fill_within": 3}, "", "below group_size"),
    ("assist", {"helpers_needed": 2, "reward": {}, "lottery": True}, "lottery", "Extra inputs"),
])
def test_bad_rules_name_the_problem_and_where(kind: str, rules: dict, where: str, says: str) -> None:
    with pytest.raises(InvalidRules) as refused:
        parse_rules(CampaignKind(kind), {**DESCRIPTION, **rules})
    first = refused.value.details["errors"][0]
    assert refused.value.code == "campaigns.invalid_rules" and refused.value.status == 422
    assert first["loc"] == where and says in first["message"]


def test_every_reward_the_rules_can_grant_is_listed() -> None:
    tiers = parse_rules(CampaignKind.TASK_UNLOCK, {**DESCRIPTION, "tiers": [
        {"threshold": 3, "stock": 1, "reward": {"offer_id": 7}}, {"threshold": 10, "stock": 1, "reward": {}}]})
    assert [r.offer_id for r in rewards_of(tiers)] == [7, None]
    referral = parse_rules(CampaignKind.REFERRAL, {**DESCRIPTION, "inviter_reward": {"cost_fen": 5}})
    assert [r.cost_fen for r in rewards_of(referral)] == [5]
