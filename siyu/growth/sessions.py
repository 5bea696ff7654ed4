"""The campaigns whose participants carry a state of their own — a group buy's group, a bargain, a split
coupon's pool, a check-in history — wired to the pure mechanics (:mod:`siyu.growth.group_buy`,
:mod:`~siyu.growth.bargain`, :mod:`~siyu.growth.split_coupon`, :mod:`~siyu.growth.check_in`).

The state lives on the participant's row as JSON. Every change is read → decided by the pure
function → written while the row is locked (:func:`store.lock_participant`), so two friends cutting
the same bargain at once get two consecutive cuts, never the same one twice, and the last share of a
pool goes to one claimer. The friend's action is a credit like an invite or a help (unique per
person, assessed by anti-fraud first); a credit whose action the mechanic refuses (the group is full,
the pool is empty, the deadline passed) ends ``expired`` with the refusal as its reason.

What a friend's action gave is taken back — a member leaving the group, a helper unfollowing while the
outcome is open — in :mod:`siyu.growth.take_back`, under the same lock.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from siyu.growth import bargain, check_in, group_buy, reward_values, split_coupon, store
from siyu.growth.errors import CampaignError
from siyu.growth.models import Campaign, CampaignKind, Credit, CreditStatus, Participant, Phase
from siyu.growth.rewards import grant_reward, void_rewards
from siyu.growth.rules import BargainRules, CheckInRules, GroupBuyRules, RewardSpec, SplitCouponRules, parse_rules

STATEFUL = (CampaignKind.GROUP_BUY, CampaignKind.BARGAIN, CampaignKind.SPLIT_COUPON, CampaignKind.CHECK_IN)
ACTED_ON = (CampaignKind.GROUP_BUY, CampaignKind.BARGAIN, CampaignKind.SPLIT_COUPON)  # friends act on a link


def dump_state(state: Any) -> dict[str, Any]:
    """A pure state as JSON (datetimes and dates as ISO strings, tuples and sets as sorted lists)."""
    def plain(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, frozenset | set):
            return sorted(plain(v) for v in value)
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value
    return {k: plain(v) for k, v in asdict(state).items()}


def group_state(data: dict[str, Any]) -> group_buy.GroupState:
    return group_buy.GroupState(**{**data, "deadline": datetime.fromisoformat(data["deadline"]),
                                   "members": tuple(data["members"]), "status": group_buy.GroupStatus(data["status"])})


def bargain_state(data: dict[str, Any]) -> bargain.BargainState:
    deadline = datetime.fromisoformat(data["deadline"]) if data.get("deadline") else None
    return bargain.BargainState(**{**data, "deadline": deadline, "cuts": tuple(data["cuts"]),
                                   "helper_ids": tuple(data["helper_ids"])})


def _split(data: dict[str, Any]) -> split_coupon.SplitState:
    return split_coupon.SplitState(data["sharer_id"], tuple(data["amounts"]), tuple(data["claimed_by"]))


def _history(data: dict[str, Any]) -> check_in.CheckInHistory:
    return check_in.CheckInHistory(days=frozenset(date.fromisoformat(d) for d in data["days"]),
                                   made_up=frozenset(date.fromisoformat(d) for d in data["made_up"]),
                                   cards=int(data["cards"]))


def open_session(conn: Connection, workspace_id: int, campaign: Campaign, participant: Participant,
                 now: datetime) -> None:
    """A newly joined participant's own mechanic: the leader's group (and the leader's group-price
    claim), the bargain, the split pool (the sharer's share taken), the check-in history."""
    rules = parse_rules(campaign.kind, campaign.rules)
    deadline: datetime | None
    phase: str | None
    match rules:
        case GroupBuyRules():
            deadline = min(now + timedelta(hours=rules.time_limit_hours), campaign.ends_at)
            state: Any = group_buy.open_group(leader_id=participant.profile_id, size=rules.group_size,
                                              deadline=deadline,
                                              auto_fill_within=rules.auto_fill_within if rules.auto_fill else 0)
            _grant(conn, workspace_id, campaign, participant, participant.profile_id, rules.leader_reward,
                   f"group:{participant.id}:{participant.profile_id}", now,
                   amount_fen=reward_values.group_values(rules)[0])
            phase = Phase.OPEN.value
        case BargainRules():
            deadline = min(now + timedelta(hours=rules.deadline_hours), campaign.ends_at)
            state = bargain.BargainState(rules.start_price_fen, rules.target_price_fen, rules.expected_helpers,
                                         seed=participant.token, deadline=deadline,
                                         new_customer_multiplier=rules.new_customer_multiplier)
            phase = Phase.OPEN.value
        case SplitCouponRules():
            deadline = None
            state = split_coupon.open_split(sharer_id=participant.profile_id, pool_fen=rules.pool_fen,
                                            shares=rules.claimers, minimum_fen=rules.minimum_fen,
                                            seed=participant.token)
            _grant(conn, workspace_id, campaign, participant, participant.profile_id,
                   RewardSpec(offer_id=rules.offer_id, cost_fen=state.amounts[0]), f"share:{participant.id}:0", now,
                   amount_fen=state.amounts[0])
            phase = Phase.OPEN.value
        case CheckInRules():
            deadline, phase = None, None
            state = check_in.CheckInHistory(cards=rules.makeup_cards)
        case _:
            return
    store.save_state(conn, workspace_id, participant.id, state=dump_state(state), phase=phase, deadline=deadline,
                     now=now)


def act(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit, now: datetime,
        from_status: tuple[CreditStatus, ...]) -> bool:
    """Apply a friend's credited action (a cut, a join, a claim) to the owner's state; False when the
    credit was moved by someone else or the mechanic refused it (then it ends expired)."""
    owner = store.lock_participant(conn, workspace_id, credit_row.participant_id)
    assert owner is not None and owner.state is not None
    rules = parse_rules(campaign.kind, campaign.rules)
    refused: StrEnum | None
    new_state: Any
    match rules:
        case GroupBuyRules():
            transition = group_buy.decide(group_state(owner.state), group_buy.Join(credit_row.profile_id), now)
            refused, new_state = transition.refused, transition.state
            done = new_state.status is group_buy.GroupStatus.FILLED
            grants = [(credit_row.profile_id, rules.member_reward, f"group:{owner.id}:{credit_row.profile_id}",
                       reward_values.group_values(rules)[1])]
        case BargainRules():
            state = bargain_state(owner.state)
            cut = bargain.next_cut(state, helper_is_new=credit_row.new_customer, now=now,
                                   helper_id=credit_row.profile_id)
            refused, new_state = cut.refused, bargain.apply_cut(state, cut, credit_row.profile_id)
            done = cut.reached_target and refused is None
            grants = [(owner.profile_id, rules.reward, f"bargain:{owner.id}", reward_values.bargain_value(rules))
                      ] if done else []
        case SplitCouponRules():
            new_state, share = split_coupon.claim_share(_split(owner.state), credit_row.profile_id)
            refused, done = share.refused, share.refused is None and new_state.remaining == 0
            grants = [(credit_row.profile_id, RewardSpec(offer_id=rules.offer_id, cost_fen=share.amount_fen),
                       f"share:{owner.id}:{share.index}", share.amount_fen)]
        case _:
            raise CampaignError(f"A {campaign.kind.value} campaign has no friend's action.",
                                code="campaigns.wrong_kind")
    if refused is not None:
        store.move_credit(conn, workspace_id, credit_row.id, from_status=from_status, to=CreditStatus.EXPIRED, now=now,
                          reasons=[*(credit_row.reasons or []), {"code": refused.value, "weight": 0,
                                                                   "detail": "The mechanic refused the action."}])
        return False
    if not store.move_credit(conn, workspace_id, credit_row.id, from_status=from_status, to=CreditStatus.CREDITED,
                             now=now, credited_at=now):
        return False
    store.move_progress(conn, workspace_id, owner.id, 1, now)
    store.save_state(conn, workspace_id, owner.id, state=dump_state(new_state),
                     phase=Phase.DONE.value if done else Phase.OPEN.value, deadline=owner.deadline, now=now)
    for profile_id, spec, key, value in grants:
        _grant(conn, workspace_id, campaign, owner, profile_id, spec, key, now, credit_id=credit_row.id,
               amount_fen=value)
    return True


def close_due(conn: Connection, workspace_id: int, campaign: Campaign, owner: Participant, now: datetime) -> str:
    """The deadline came: a group fails (every claim in it voided) or is auto-filled; an unfinished
    bargain closes. Returns the phase written."""
    locked = store.lock_participant(conn, workspace_id, owner.id)
    assert locked is not None and locked.state is not None
    if locked.phase != Phase.OPEN.value:
        return locked.phase or ""
    if campaign.kind is CampaignKind.GROUP_BUY:
        transition = group_buy.decide(group_state(locked.state), group_buy.Tick(), now)
        state: Any = transition.state
        phase = Phase.DONE if state.status is group_buy.GroupStatus.FILLED else Phase.FAILED
        if phase is Phase.FAILED:
            void_rewards(conn, workspace_id, campaign, prefix=f"group:{owner.id}:", reason="group_failed", now=now)
    else:
        state, phase = bargain_state(locked.state), Phase.FAILED
    store.save_state(conn, workspace_id, owner.id, state=dump_state(state), phase=phase.value, deadline=locked.deadline,
                     now=now)
    return phase.value


def record_check_in(conn: Connection, workspace_id: int, campaign: Campaign, participant: Participant, *,
                    today: date, make_up_day: date | None, now: datetime) -> dict[str, Any]:
    """Check in today, or fill ``make_up_day`` with a card; the streak tiers crossed are granted once per
    run (keyed by the day that crossed them). Refusals raise ``campaigns.check_in_refused``."""
    rules = parse_rules(campaign.kind, campaign.rules)
    assert isinstance(rules, CheckInRules)
    policy = check_in.CheckInPolicy(tiers=tuple(check_in.RewardTier(int(k), k) for k in sorted(
        rules.streak_rewards, key=int)), make_up_window_days=rules.make_up_window_days,
        make_up_per_month=rules.make_up_per_month)
    locked = store.lock_participant(conn, workspace_id, participant.id)
    assert locked is not None and locked.state is not None
    outcome = check_in.record_check_in(_history(locked.state), make_up_day or today, make_up=make_up_day is not None,
                                       today=today, policy=policy)
    if outcome.refused is not None:
        raise CampaignError(f"The check-in was refused: {outcome.refused.value}.", code="campaigns.check_in_refused",
                            status=409, details={"reason": outcome.refused.value, "streak": outcome.streak})
    store.save_state(conn, workspace_id, participant.id, state=dump_state(outcome.history), phase=None, deadline=None,
                     now=now)
    store.move_progress(conn, workspace_id, participant.id, 1, now)
    granted = [_grant(conn, workspace_id, campaign, participant, participant.profile_id,
                      rules.streak_rewards[tier.reward_key], f"streak:{tier.streak_days}:{participant.id}:{today}",
                      now) for tier in outcome.rewards]
    return {"streak": outcome.streak, "cards": outcome.history.cards,
            "rewards": [r.to_dict() for r in granted if r is not None]}


def _grant(conn: Connection, workspace_id: int, campaign: Campaign, owner: Participant, profile_id: int,
           spec: RewardSpec | None, key: str, now: datetime, credit_id: int | None = None,
           amount_fen: int | None = None) -> Any:
    """``amount_fen``: what the rules say the reward is worth (:mod:`siyu.growth.reward_values`)."""
    if spec is None:
        return None
    return grant_reward(conn, workspace_id, campaign, profile_id=profile_id, reward_key=key, spec=spec, now=now,
                        credit_id=credit_id, amount_fen=amount_fen)
