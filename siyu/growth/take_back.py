"""Taking back what a friend's action gave while its outcome is still open: a group-buy member who
leaves (cancels the unpaid order), and a helper who unfollows or leaves the community group within
``revoke_within_days`` (the worker, :mod:`siyu.growth.worker`).

What "still open" means, per kind, and what is taken back:

=============  ==================================  ==========================================================
kind           open while                          taken back
=============  ==================================  ==========================================================
group buy      the group is open (not formed,      the place: the member leaves the group (the pure
               not failed)                         ``group_buy.Leave``), their member-price claim is voided;
                                                   the place can be taken again by someone else
bargain        the bargain is open (the target     the cut: the price goes back up by exactly that cut and
               not reached, the deadline not       a helper's place opens again (``bargain.take_back_cut``;
               passed)                             the target is still reached exactly at the N-th helper)
split coupon   the share's coupon is unredeemed    the share: its coupon is voided through the offers
                                                   service (its unit back in stock, its cost in the budget);
                                                   the share does not return to the pool (see
                                                   :mod:`siyu.growth.split_coupon`)
=============  ==================================  ==========================================================

Once the outcome is final (the group formed or failed, the bargain completed or closed, the share
redeemed) nothing is taken back: the customer was promised it. The worker then records the leave as a
risk signal in the anti-fraud decisions log instead.

Concurrency: the owner's participant row is locked first (:func:`store.lock_participant`, the lock
:func:`siyu.growth.sessions.act` takes before it moves a credit), then the credit moves by a
compare-and-set ``credited → revoked``. A join racing a leave for the last place is therefore
serialised by the lock: either the leave comes first and the joiner takes the freed place, or the
join fills the group and the leave is refused (``not_open``) — never both, never a sixth member of
a group of five. A second take-back of the same credit finds it revoked and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from siyu.growth import bargain, group_buy, rewards_store, store
from siyu.growth.errors import CampaignError
from siyu.growth.models import Campaign, CampaignKind, Credit, CreditKind, CreditStatus, Phase
from siyu.growth.rewards import void_rewards_of_credit
from siyu.growth.sessions import bargain_state, dump_state, group_state


class Result(StrEnum):
    TAKEN_BACK = "taken_back"
    FINAL = "final"  # the outcome was final: nothing taken back
    ALREADY = "already"  # taken back before (a retry, a second event)


@dataclass(frozen=True)
class TakeBack:
    result: Result
    why: str  # the refusal, the phase or the claim status that decided it


def join_credit(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int) -> Credit | None:
    """The person's place in some group of the campaign (one group per person per campaign)."""
    found = [c for c in store.credits_of_profile(conn, workspace_id, profile_id, tuple(CreditStatus))
             if c.campaign_id == campaign_id and c.kind is CreditKind.JOIN]
    return found[0] if found else None


def leave_group_buy(conn: Connection, workspace_id: int, campaign: Campaign, profile_id: int,
                    now: datetime) -> Credit:
    """A member leaves their open group: the place is freed and their member-price claim voided.
    Leaving again answers the same (the credit stays revoked); the leader cannot leave, nor anyone a
    formed or failed group (``campaigns.leave_refused`` with ``details.reason``)."""
    if campaign.kind is not CampaignKind.GROUP_BUY:
        raise CampaignError(f"A {campaign.kind.value} campaign has no groups to leave.", code="campaigns.wrong_kind")
    credit_row = join_credit(conn, workspace_id, campaign.id, profile_id)
    if credit_row is None or credit_row.status not in (CreditStatus.CREDITED, CreditStatus.REVOKED):
        leader = store.participant_of(conn, workspace_id, campaign.id, profile_id)
        reason = group_buy.JoinRefusal.LEADER_CANNOT_LEAVE if leader is not None else group_buy.JoinRefusal.NOT_MEMBER
        raise CampaignError(_refusal_text(reason), code="campaigns.leave_refused", status=409,
                            details={"reason": reason.value})
    if credit_row.status is CreditStatus.REVOKED:
        return credit_row
    outcome = _release_place(conn, workspace_id, campaign, credit_row, _reason(
        "left_group_buy", "The member left the group before it formed (e.g. cancelled the unpaid order)."), now)
    if outcome.result is Result.FINAL:
        raise CampaignError(_refusal_text(outcome.why), code="campaigns.leave_refused", status=409,
                            details={"reason": outcome.why})
    return _reload(conn, workspace_id, credit_row.id)


def take_back(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit, *, code: str,
              detail: str, now: datetime) -> TakeBack:
    """Take back a credited friend's action while its outcome is open (see the module docstring)."""
    reason = _reason(code, detail)
    match campaign.kind:
        case CampaignKind.GROUP_BUY:
            return _release_place(conn, workspace_id, campaign, credit_row, reason, now)
        case CampaignKind.BARGAIN:
            return _restore_cut(conn, workspace_id, credit_row, reason, now)
        case CampaignKind.SPLIT_COUPON:
            return _void_share(conn, workspace_id, campaign, credit_row, reason, now)
        case _:
            raise CampaignError(f"A {campaign.kind.value} campaign has no friend's action to take back.",
                                code="campaigns.wrong_kind")


def _release_place(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit,
                   reason: dict[str, Any], now: datetime) -> TakeBack:
    owner = store.lock_participant(conn, workspace_id, credit_row.participant_id)
    assert owner is not None and owner.state is not None
    if owner.phase != Phase.OPEN.value:
        return TakeBack(Result.FINAL, group_buy.JoinRefusal.NOT_OPEN.value)
    transition = group_buy.decide(group_state(owner.state), group_buy.Leave(credit_row.profile_id), now)
    if transition.refused is not None:  # past the deadline: the worker settles the group, nothing moves here
        return TakeBack(Result.FINAL, transition.refused.value)
    if not _revoke_credit(conn, workspace_id, credit_row, reason, now):
        return TakeBack(Result.ALREADY, CreditStatus.REVOKED.value)
    store.save_state(conn, workspace_id, owner.id, state=dump_state(transition.state), phase=Phase.OPEN.value,
                     deadline=owner.deadline, now=now)
    void_rewards_of_credit(conn, workspace_id, campaign, credit_row.id, reason=reason["code"], now=now)
    return TakeBack(Result.TAKEN_BACK, reason["code"])


def _restore_cut(conn: Connection, workspace_id: int, credit_row: Credit, reason: dict[str, Any],
                 now: datetime) -> TakeBack:
    owner = store.lock_participant(conn, workspace_id, credit_row.participant_id)
    assert owner is not None and owner.state is not None
    state = bargain_state(owner.state)
    if owner.phase != Phase.OPEN.value or bargain.is_expired(state, now) or state.reached_target:
        return TakeBack(Result.FINAL, owner.phase or Phase.OPEN.value)
    restored, cut = bargain.take_back_cut(state, credit_row.profile_id)
    if cut == 0 or not _revoke_credit(conn, workspace_id, credit_row, {**reason, "cut_fen": cut}, now):
        return TakeBack(Result.ALREADY, CreditStatus.REVOKED.value)
    store.save_state(conn, workspace_id, owner.id, state=dump_state(restored), phase=Phase.OPEN.value,
                     deadline=owner.deadline, now=now)
    return TakeBack(Result.TAKEN_BACK, reason["code"])


def _void_share(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit,
                reason: dict[str, Any], now: datetime) -> TakeBack:
    """The share's coupon is voided first, through the offers service's compare-and-set on the claim
    (``claimed → voided``): a redemption racing it either came first (then the void is refused and
    the outcome is final) or finds the claim voided — the coupon is never both used and taken back."""
    from siyu.offers.errors import OffersError
    from siyu.offers.service import void_claim

    owner = store.lock_participant(conn, workspace_id, credit_row.participant_id)
    assert owner is not None
    for reward in rewards_store.rewards_of_credit(conn, workspace_id, credit_row.id):
        if reward.claim_id is None:
            continue
        try:
            with conn.begin_nested():
                void_claim(conn, workspace_id, reward.claim_id, reason=reason["code"], now=now)
        except OffersError as error:  # redeemed (or expired): the share is the customer's
            return TakeBack(Result.FINAL, str(error.details.get("status") or error.code))
    if not _revoke_credit(conn, workspace_id, credit_row, reason, now):
        return TakeBack(Result.ALREADY, CreditStatus.REVOKED.value)
    void_rewards_of_credit(conn, workspace_id, campaign, credit_row.id, reason=reason["code"], now=now)
    return TakeBack(Result.TAKEN_BACK, reason["code"])


def _revoke_credit(conn: Connection, workspace_id: int, credit_row: Credit, reason: dict[str, Any],
                   now: datetime) -> bool:
    """credited → revoked (a compare-and-set: once), and the owner's progress one lower."""
    if not store.move_credit(conn, workspace_id, credit_row.id, from_status=(CreditStatus.CREDITED,),
                             to=CreditStatus.REVOKED, now=now, reasons=[*(credit_row.reasons or []), reason]):
        return False
    store.move_progress(conn, workspace_id, credit_row.participant_id, -1, now)
    return True


def _reason(code: str, detail: str) -> dict[str, Any]:
    return {"code": code, "weight": 0, "detail": detail}


def _refusal_text(reason: str) -> str:
    return {"leader_cannot_leave": "The leader cannot leave their own group.",
            "not_member": "You are not a member of an open group in this campaign.",
            "not_open": "The group has formed or failed already: nobody can leave it now.",
            "expired": "The group's time is up: nobody can leave it now."}.get(
        reason, f"Leaving was refused: {reason}.")


def _reload(conn: Connection, workspace_id: int, credit_id: int) -> Credit:
    found = store.get_credit(conn, workspace_id, credit_id)
    assert found is not None
    return found
