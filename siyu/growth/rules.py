"""Each campaign kind's rules as a pydantic model, and :func:`parse_rules` that turns a JSON object into
one (or :class:`~siyu.growth.errors.InvalidRules` with every problem and where it is).

Rules are stored as the validated JSON; the models are the one definition the editor, the API, the
service and the landing page read. Shared parts: ``description`` (the rules as the public page shows
them, zh and en — every campaign page shows its rules), ``revoke_within_days`` (a credit is taken back
when the invitee unfollows or leaves the group within that many days) and rewards, each an offer
granted through :mod:`siyu.offers` with its ``cost_fen`` counted against the campaign's budget.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from siyu.growth.errors import InvalidRules
from siyu.growth.models import CampaignKind

Days = Annotated[int, Field(ge=0, le=90)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text(Strict):
    zh: str = Field(min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)


class RewardSpec(Strict):
    """One grant: an offer (coupon, points, red packet, gift) and what it costs the brand.

    ``cost_fen`` left out (null) is what the reward gives away when the rules say what it is worth — a
    bargain's start − target, a group buy's list − group price, a split coupon's share
    (:mod:`siyu.growth.reward_values`) — and 0 otherwise; a number, even 0, is the operator's own."""

    offer_id: int | None = Field(None, ge=1, description="The offer granted; None records the reward only")
    cost_fen: int | None = Field(None, ge=0, le=10**8, description="Counted against the campaign's budget "
                                 "(null: what the rules say the reward is worth, else 0)")
    label: Text | None = None


class CommonRules(Strict):
    description: Text
    fraud: dict[str, Any] | None = Field(None, description="Anti-fraud thresholds (siyu.growth.fraud.FraudPolicy)")
    share_text: Text | None = Field(None, description="The words suggested when sharing")
    share_reward_targets: list[Literal["moments", "group", "friend"]] = Field(
        default_factory=list, description="Where sharing itself is rewarded (compliance flags moments and groups)")
    revoke_within_days: Days = 7
    poster_template_id: int | None = Field(None, ge=1, description="A poster template (siyu.acquisition.posters) "
                                           "whose target is this campaign's page: each participant's poster")


class ReferralRules(CommonRules):
    inviter_reward: RewardSpec
    invitee_reward: RewardSpec | None = None
    attribution_days: Annotated[int, Field(ge=1, le=90)] = 7
    qualifying: Literal["first_order", "follow_stay"] = "first_order"
    stay_days: Annotated[int, Field(ge=1, le=30)] = 3
    new_customers_only: bool = True

    @model_validator(mode="after")
    def _stay_fits(self) -> ReferralRules:
        if self.qualifying == "follow_stay" and self.stay_days > self.attribution_days:
            raise ValueError("stay_days must fit inside attribution_days")
        return self


class AssistRules(CommonRules):
    helpers_needed: Annotated[int, Field(ge=1, le=100)]
    helper_eligibility: Literal["new_only", "anyone"] = "anyone"
    reward: RewardSpec


class Tier(Strict):
    threshold: Annotated[int, Field(ge=1, le=10_000)]
    stock: Annotated[int, Field(ge=0, le=10**7)]
    reward: RewardSpec


class TaskUnlockRules(CommonRules):
    tiers: list[Tier] = Field(min_length=1, max_length=10)
    new_customers_only: bool = True

    @model_validator(mode="after")
    def _rising(self) -> TaskUnlockRules:
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tier thresholds must rise strictly (e.g. 3, 10, 30)")
        return self


class Prize(Strict):
    rank_from: Annotated[int, Field(ge=1, le=10_000)]
    rank_to: Annotated[int, Field(ge=1, le=10_000)]
    reward: RewardSpec
    max_winners: Annotated[int, Field(ge=1, le=10_000)] | None = None


class LeaderboardRules(CommonRules):
    prizes: list[Prize] = Field(min_length=1, max_length=20)
    min_progress: Annotated[int, Field(ge=1, le=10_000)] = 1
    ties: Literal["earliest", "dense", "standard"] = "earliest"
    new_customers_only: bool = True

    @model_validator(mode="after")
    def _ranks(self) -> LeaderboardRules:
        last = 0
        for prize in self.prizes:
            if prize.rank_from > prize.rank_to or prize.rank_from <= last:
                raise ValueError("prize ranks must be ascending, non-overlapping ranges (rank_from ≤ rank_to)")
            last = prize.rank_to
        return self


class GroupBuyRules(CommonRules):
    """The leader claims the leader-price offer on opening a group, each member the member-price one on
    joining; a group that fails at its deadline has every claim voided (siyu.growth.group_buy). With a
    list price, a claim of an amount-valued offer is worth what the group price saves: list − leader
    price, list − member price (the price itself is what the customer pays; the coupon is the way the
    shop's checkout takes the difference off the list price)."""

    group_size: Annotated[int, Field(ge=2, le=100)]
    time_limit_hours: Annotated[int, Field(ge=1, le=720)] = 24
    list_price_fen: Annotated[int, Field(ge=1, le=10**8)] | None = Field(
        None, description="The price outside the group; needed when a reward's offer is an amount")
    leader_price_fen: Annotated[int, Field(ge=0)]
    member_price_fen: Annotated[int, Field(ge=0)]
    leader_reward: RewardSpec | None = None
    member_reward: RewardSpec | None = None
    auto_fill: bool = False
    auto_fill_within: Annotated[int, Field(ge=1, le=99)] = 1

    @model_validator(mode="after")
    def _fill(self) -> GroupBuyRules:
        if self.auto_fill and self.auto_fill_within >= self.group_size:
            raise ValueError("auto_fill_within must be below group_size")
        if self.list_price_fen is not None and self.list_price_fen <= max(self.leader_price_fen,
                                                                          self.member_price_fen):
            raise ValueError("list_price_fen must be above both the leader's and the members' price")
        return self


class BargainRules(CommonRules):
    start_price_fen: Annotated[int, Field(ge=1)]
    target_price_fen: Annotated[int, Field(ge=0)]
    expected_helpers: Annotated[int, Field(ge=1, le=1000)]
    deadline_hours: Annotated[int, Field(ge=1, le=720)] = 24
    new_customer_multiplier: Annotated[float, Field(ge=1, le=10)] = 2.0
    reward: RewardSpec = Field(default_factory=lambda: RewardSpec.model_validate({}),
                               description="Granted when the target price is reached")

    @model_validator(mode="after")
    def _reachable(self) -> BargainRules:
        if self.start_price_fen - self.target_price_fen < self.expected_helpers:
            raise ValueError("start − target must be at least one fen per expected helper")
        return self


class SplitCouponRules(CommonRules):
    """Each claimer's share is a reward whose ``cost_fen`` is the share (counted against the budget), and
    whose coupon is worth exactly the share: the offer must be amount-valued (fixed amount, threshold,
    red packet; checked against the offer when the campaign is saved and launched)."""

    pool_fen: Annotated[int, Field(ge=1, le=10**8)]
    claimers: Annotated[int, Field(ge=2, le=100)]
    minimum_fen: Annotated[int, Field(ge=0, le=10**6)] = 1
    offer_id: int | None = Field(None, ge=1, description="The coupon each claimer gets, worth their share")

    @model_validator(mode="after")
    def _enough(self) -> SplitCouponRules:
        if self.pool_fen < self.claimers * self.minimum_fen:
            raise ValueError("the pool must give every claimer at least minimum_fen")
        return self


class CheckInRules(CommonRules):
    streak_rewards: dict[str, RewardSpec] = Field(min_length=1, description="streak length (days) → reward")
    makeup_cards: Annotated[int, Field(ge=0, le=31)] = 0
    make_up_window_days: Annotated[int, Field(ge=1, le=31)] = 7
    make_up_per_month: Annotated[int, Field(ge=0, le=31)] = 2

    @model_validator(mode="after")
    def _days(self) -> CheckInRules:
        if not all(key.isdigit() and 1 <= int(key) <= 366 for key in self.streak_rewards):
            raise ValueError("streak_rewards keys are streak lengths in days (1-366)")
        return self


MODELS: dict[CampaignKind, type[CommonRules]] = {
    CampaignKind.REFERRAL: ReferralRules,
    CampaignKind.ASSIST: AssistRules,
    CampaignKind.GROUP_BUY: GroupBuyRules,
    CampaignKind.BARGAIN: BargainRules,
    CampaignKind.SPLIT_COUPON: SplitCouponRules,
    CampaignKind.TASK_UNLOCK: TaskUnlockRules,
    CampaignKind.LEADERBOARD: LeaderboardRules,
    CampaignKind.CHECK_IN: CheckInRules,
}


def parse_rules(kind: CampaignKind, rules: Any) -> CommonRules:
    """The rules as ``kind``'s model, or InvalidRules listing each problem with its location."""
    try:
        return MODELS[kind].model_validate(rules)
    except ValidationError as error:
        problems = [{"loc": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
                    for e in error.errors(include_url=False)]
        raise InvalidRules(f"The rules do not fit a {kind.value} campaign: {problems[0]['loc'] or 'rules'}: "
                           f"{problems[0]['message']}.", details={"kind": kind.value, "errors": problems}) from None


def rewards_of(rules: CommonRules) -> list[RewardSpec]:
    """Every reward the rules can grant (for the editor and the offer checks)."""
    match rules:
        case ReferralRules():
            return [r for r in (rules.inviter_reward, rules.invitee_reward) if r is not None]
        case AssistRules():
            return [rules.reward]
        case TaskUnlockRules():
            return [t.reward for t in rules.tiers]
        case LeaderboardRules():
            return [p.reward for p in rules.prizes]
        case CheckInRules():
            return list(rules.streak_rewards.values())
        case GroupBuyRules():
            return [r for r in (rules.leader_reward, rules.member_reward) if r is not None]
        case BargainRules():
            return [rules.reward]
        case _:
            return []
