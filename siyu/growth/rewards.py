"""Granting and voiding a campaign's rewards.

A reward is decided in three steps inside the caller's transaction, so that a crash or a retry
grants nothing twice and nothing beyond the rules:

1. its row is written, unique on (campaign, ``reward_key``) — a second caller with the same reason
   finds the first row and stops there;
2. its cost is taken from the campaign's budget (one conditional UPDATE, :func:`store.take_counter`);
   a spent budget refuses it (``campaigns.budget_spent``) and issuance stops;
3. its offer is claimed through :func:`siyu.offers.service.claim_offer` with the idempotency key
   ``campaign:<id>:<reward_key>`` inside a savepoint; the offer's own refusals (out of stock, limit
   reached, budget spent) refuse the reward with the offer's code and give the budget back.

A reward the rules give a value (a split coupon's share, what a bargain cut off, what a group price
saves: :mod:`siyu.growth.reward_values`) passes it as ``amount_fen``: its cost is that value unless the
operator set ``cost_fen``, and a claim of an amount-valued offer carries it as its own face value, so
the coupon takes off, or the red packet pays, what the rules decided and not the offer's amount. A
retried grant finds its reward row in step 1 and its claim under the same key: the same value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from siyu.growth import rewards_store, store
from siyu.growth.models import Campaign, Reward, RewardStatus
from siyu.growth.rules import RewardSpec

BUDGET = "budget"


def claim_key(campaign_id: int, reward_key: str) -> str:
    return f"campaign:{campaign_id}:{reward_key}"


def reward_cost(spec: RewardSpec, amount_fen: int | None) -> int:
    """What the grant costs the budget: the operator's ``cost_fen``, else the value the rules gave it."""
    return spec.cost_fen if spec.cost_fen is not None else amount_fen or 0


def grant_reward(conn: Connection, workspace_id: int, campaign: Campaign, *, profile_id: int, reward_key: str,
                 spec: RewardSpec, now: datetime, credit_id: int | None = None,
                 counter: str | None = None, amount_fen: int | None = None) -> Reward:
    """Decide the reward for ``reward_key`` (see the module docstring); ``counter`` names a stock
    (a task-unlock tier) taken with it; ``amount_fen``, the value the rules gave it. Returns the
    existing row when the reason was decided before."""
    cost = reward_cost(spec, amount_fen)
    reward, created = rewards_store.insert_reward(conn, workspace_id, campaign_id=campaign.id, reward_key=reward_key,
                                                  now=now, profile_id=profile_id, credit_id=credit_id,
                                                  offer_id=spec.offer_id, cost_fen=cost)
    if not created:
        return reward
    if counter is not None and store.take_counter(conn, workspace_id, campaign.id, counter, 1) is False:
        return _refuse(conn, workspace_id, reward, "campaigns.stock_gone", now)
    if cost and store.take_counter(conn, workspace_id, campaign.id, BUDGET, cost) is False:
        if counter is not None:
            store.release_counter(conn, workspace_id, campaign.id, counter, 1)
        return _refuse(conn, workspace_id, reward, "campaigns.budget_spent", now)
    if spec.offer_id is None:
        return reward
    error_code, claim_id = _claim(conn, workspace_id, campaign, reward, spec.offer_id, now, amount_fen)
    if error_code is not None:
        if counter is not None:
            store.release_counter(conn, workspace_id, campaign.id, counter, 1)
        if cost:
            store.release_counter(conn, workspace_id, campaign.id, BUDGET, cost)
        return _refuse(conn, workspace_id, reward, error_code, now)
    rewards_store.update_reward(conn, workspace_id, reward.id, now, claim_id=claim_id)
    return _reload(conn, workspace_id, campaign.id, reward.profile_id, reward.id)


def _claim(conn: Connection, workspace_id: int, campaign: Campaign, reward: Reward, offer_id: int,
           now: datetime, amount_fen: int | None) -> tuple[str | None, int | None]:
    """(error code, claim id): the offer claimed in a savepoint, so a refusal undoes only its own writes.

    A valued reward's claim carries its value when the offer is amount-valued (a split coupon's offer
    always is: the campaign is refused otherwise); then it costs the offers' budget of the campaign what
    it costs the campaign's own. Another kind (a bargain's gift) is claimed as the offer says."""
    from siyu.offers import store as offers_store
    from siyu.offers.errors import OffersError
    from siyu.offers.service import claim_offer
    from siyu.offers.terms import face_value_bounds

    try:
        valued = amount_fen is not None and face_value_bounds(
            offers_store.get_offer(conn, workspace_id, offer_id)) is not None
        with conn.begin_nested():
            claim = claim_offer(conn, workspace_id, offer_id, profile_id=reward.profile_id,
                                idempotency_key=claim_key(campaign.id, reward.reward_key), now=now,
                                channel="campaign", campaign_id=campaign.id,
                                amount_fen=amount_fen if valued else None,
                                cost_fen=reward.cost_fen if valued else None)
    except OffersError as error:
        return error.code, None
    return None, int(claim.id)


def void_rewards_of_credit(conn: Connection, workspace_id: int, campaign: Campaign, credit_id: int, *,
                           reason: str, now: datetime) -> int:
    """Take back what a revoked credit earned (see :func:`void`)."""
    return void(conn, workspace_id, campaign, rewards_store.rewards_of_credit(conn, workspace_id, credit_id),
                reason=reason, now=now)


def void_rewards(conn: Connection, workspace_id: int, campaign: Campaign, *, prefix: str, reason: str,
                 now: datetime) -> int:
    """Take back every reward whose key starts with ``prefix`` (a failed group's claims)."""
    return void(conn, workspace_id, campaign, rewards_store.rewards_by_prefix(conn, workspace_id, campaign.id, prefix),
                reason=reason, now=now)


def void(conn: Connection, workspace_id: int, campaign: Campaign, found: list[Reward], *, reason: str,
         now: datetime) -> int:
    """Each granted reward voided (its offer claim too) and its cost given back to the budget. A
    compare-and-set on the reward's status voids each once."""
    voided = 0
    for reward in found:
        if not rewards_store.update_reward(conn, workspace_id, reward.id, now, from_status=RewardStatus.GRANTED,
                                   status=RewardStatus.VOIDED.value, error_code=reason):
            continue
        voided += 1
        if reward.cost_fen:
            store.release_counter(conn, workspace_id, campaign.id, BUDGET, reward.cost_fen)
        if reward.claim_id is not None:
            from siyu.offers.errors import OffersError
            from siyu.offers.service import void_claim

            try:
                with conn.begin_nested():
                    void_claim(conn, workspace_id, reward.claim_id, reason=reason, now=now)
            except OffersError as error:  # already redeemed: the reward row still says voided, and why
                rewards_store.update_reward(conn, workspace_id, reward.id, now,
                                            error_code=f"{reason}:{error.code}"[:64])
    return voided


def _refuse(conn: Connection, workspace_id: int, reward: Reward, code: str, now: datetime) -> Reward:
    rewards_store.update_reward(conn, workspace_id, reward.id, now, status=RewardStatus.REFUSED.value, error_code=code)
    return _reload(conn, workspace_id, reward.campaign_id, reward.profile_id, reward.id)


def _reload(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int, reward_id: int) -> Reward:
    return next(r for r in rewards_store.list_rewards(conn, workspace_id, campaign_id, profile_id=profile_id)
                if r.id == reward_id)
