"""What a credit (an invite or a help) does as it moves through its states, and what each kind of
campaign grants for it.

    pending ──qualifying action──▶ credited ──unfollow / leave within N days──▶ revoked
       │  └──attribution window passes──▶ expired
    held ──operator approves──▶ credited (or pending, if the qualifying action is still to come)
       └──operator rejects──▶ denied

Every move is a compare-and-set on the credit's status (:func:`store.move_credit`), so two workers,
a retried event or an operator's double click move a credit once. Crediting adds one to the
participant's progress in one UPDATE that returns the new value: whoever's UPDATE returned the
threshold is the one that grants it (each tier's reward is also unique on its key).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from siyu.growth import rewards_store, store
from siyu.growth.assessment import SUBJECT
from siyu.growth.errors import CampaignError
from siyu.growth.fraud_store import StoredDecision
from siyu.growth.models import Campaign, CampaignKind, Credit, CreditStatus
from siyu.growth.review_effects import review_effect
from siyu.growth.rewards import grant_reward, void, void_rewards_of_credit
from siyu.growth.rules import AssistRules, ReferralRules, TaskUnlockRules, parse_rules
from siyu.growth.sessions import ACTED_ON, act

WAITING = (CreditStatus.PENDING, CreditStatus.HELD)


def needs_qualifying(campaign: Campaign) -> bool:
    """Only a referral waits for the invitee's first order or stay; other kinds credit on arrival."""
    return campaign.kind is CampaignKind.REFERRAL


def credit(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit, now: datetime,
           *, from_status: tuple[CreditStatus, ...] = WAITING) -> bool:
    """Move the credit to ``credited`` and apply what the kind grants; False if someone else moved it."""
    if campaign.kind in ACTED_ON:  # a cut, a group join, a share claim: the owner's state decides
        return act(conn, workspace_id, campaign, credit_row, now, from_status)
    if not store.move_credit(conn, workspace_id, credit_row.id, from_status=from_status, to=CreditStatus.CREDITED,
                             now=now, credited_at=now):
        return False
    progress = store.move_progress(conn, workspace_id, credit_row.participant_id, 1, now)
    participant = store.get_participant(conn, workspace_id, credit_row.participant_id)
    assert participant is not None
    rules = parse_rules(campaign.kind, campaign.rules)
    match rules:
        case ReferralRules():
            grant_reward(conn, workspace_id, campaign, profile_id=participant.profile_id,
                         reward_key=f"credit:{credit_row.id}:inviter", spec=rules.inviter_reward, now=now,
                         credit_id=credit_row.id)
            if rules.invitee_reward is not None:
                grant_reward(conn, workspace_id, campaign, profile_id=credit_row.profile_id,
                             reward_key=f"credit:{credit_row.id}:invitee", spec=rules.invitee_reward, now=now,
                             credit_id=credit_row.id)
        case AssistRules():
            if progress >= rules.helpers_needed:  # the unlock is unique on its key: granted once
                grant_reward(conn, workspace_id, campaign, profile_id=participant.profile_id,
                             reward_key=f"unlock:{participant.id}", spec=rules.reward, now=now)
        case TaskUnlockRules():
            for index, tier in enumerate(rules.tiers):
                if progress >= tier.threshold:
                    grant_reward(conn, workspace_id, campaign, profile_id=participant.profile_id,
                                 reward_key=f"tier:{index}:{participant.id}", spec=tier.reward, now=now,
                                 counter=f"tier:{index}")
        case _:
            pass  # a leaderboard grants at the end (siyu.growth.settle); the rest credit no invites
    return True


def qualify(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit, at: datetime,
            now: datetime) -> bool:
    """The invitee did the qualifying action at ``at``: credited if inside the attribution window (a held
    credit remembers it and is credited when approved)."""
    rules = parse_rules(campaign.kind, campaign.rules)
    assert isinstance(rules, ReferralRules)
    if at > credit_row.created_at + timedelta(days=rules.attribution_days) or at < credit_row.created_at:
        return False
    store.mark_qualified(conn, workspace_id, credit_row.id, at)
    if credit_row.status is CreditStatus.PENDING:
        return credit(conn, workspace_id, campaign, credit_row, now, from_status=(CreditStatus.PENDING,))
    return False


def approve(conn: Connection, workspace_id: int, credit_id: int, now: datetime) -> Credit:
    """An operator cleared a held credit: credited now, or pending while the qualifying action is
    still to come. For the review queue (siyu.growth.fraud_api) to call."""
    credit_row = _held(conn, workspace_id, credit_id)
    campaign = store.get_campaign(conn, workspace_id, credit_row.campaign_id)
    if needs_qualifying(campaign) and credit_row.qualified_at is None:
        store.move_credit(conn, workspace_id, credit_id, from_status=(CreditStatus.HELD,), to=CreditStatus.PENDING,
                          now=now)
    else:
        credit(conn, workspace_id, campaign, credit_row, now, from_status=(CreditStatus.HELD,))
    return _reload(conn, workspace_id, credit_id)


def reject(conn: Connection, workspace_id: int, credit_id: int, now: datetime) -> Credit:
    """An operator refused a held credit: denied, nothing granted. For the review queue to call."""
    _held(conn, workspace_id, credit_id)
    store.move_credit(conn, workspace_id, credit_id, from_status=(CreditStatus.HELD,), to=CreditStatus.DENIED,
                      now=now)
    return _reload(conn, workspace_id, credit_id)


def revoke(conn: Connection, workspace_id: int, campaign: Campaign, credit_row: Credit, *, reason: str,
           now: datetime) -> bool:
    """The invitee or helper left (unfollowed, left the group) within the window: the credit is taken
    back, the participant's progress goes down by one, and the rewards it earned are voided."""
    was_credited = credit_row.status is CreditStatus.CREDITED
    if not store.move_credit(conn, workspace_id, credit_row.id, from_status=(*WAITING, CreditStatus.CREDITED),
                             to=CreditStatus.REVOKED, now=now, reasons=[*(credit_row.reasons or []), reason]):
        return False
    if was_credited:
        progress = store.move_progress(conn, workspace_id, credit_row.participant_id, -1, now)
        void_rewards_of_credit(conn, workspace_id, campaign, credit_row.id, reason=reason, now=now)
        _take_back_thresholds(conn, workspace_id, campaign, credit_row.participant_id, progress, reason, now)
    return True


def _take_back_thresholds(conn: Connection, workspace_id: int, campaign: Campaign, participant_id: int,
                          progress: int, reason: str, now: datetime) -> None:
    """A revoked credit that takes the participant back below a threshold takes back what the threshold
    granted (an assist's unlock, a task tier — its unit back in the tier's stock): helpers who follow for
    the unlock and leave an hour later unlock nothing. The reward is not granted again in this campaign
    (its key is spent), so farming the same threshold twice gains nothing either."""
    rules = parse_rules(campaign.kind, campaign.rules)
    match rules:
        case AssistRules():
            if progress < rules.helpers_needed:
                void(conn, workspace_id, campaign, rewards_store.reward_by_key(
                    conn, workspace_id, campaign.id, f"unlock:{participant_id}"), reason=reason, now=now)
        case TaskUnlockRules():
            for index, tier in enumerate(rules.tiers):
                if progress < tier.threshold:
                    taken = void(conn, workspace_id, campaign, rewards_store.reward_by_key(
                        conn, workspace_id, campaign.id, f"tier:{index}:{participant_id}"), reason=reason, now=now)
                    if taken:
                        store.release_counter(conn, workspace_id, campaign.id, f"tier:{index}", taken)
        case _:
            pass  # a referral's rewards belong to the credit itself; a leaderboard ranks by the lower progress


@review_effect("approve", subject_kind=SUBJECT)
def _approved(conn: Connection, workspace_id: int, decision: StoredDecision, now: datetime) -> None:
    """The review queue approved the credit's held decision (siyu.growth.fraud_store.resolve_review)."""
    approve(conn, workspace_id, int(decision.subject_id), now)


@review_effect("reject", subject_kind=SUBJECT)
def _rejected(conn: Connection, workspace_id: int, decision: StoredDecision, now: datetime) -> None:
    reject(conn, workspace_id, int(decision.subject_id), now)


def resolve(conn: Connection, workspace_id: int, credit_id: int, action: str, *, operator: str,
            note: str | None, now: datetime) -> Credit:
    """Approve or reject a held credit through its anti-fraud decision, so the review queue and the
    credit move together (the queue's effects above do the moving; resolving twice the same way is a
    no-op, the opposite way a ``growth.review_conflict``)."""
    from siyu.growth.fraud_store import resolve_review

    credit_row = store.get_credit(conn, workspace_id, credit_id)
    if credit_row is None or credit_row.decision_id is None:
        _held(conn, workspace_id, credit_id)  # not found / not held: its error
        raise CampaignError(f"Credit {credit_id} has no anti-fraud decision to review.",
                            code="campaigns.not_held", status=409)
    resolve_review(conn, workspace_id, credit_row.decision_id, verdict=action, operator=operator, note=note, now=now)
    return _reload(conn, workspace_id, credit_id)


def _held(conn: Connection, workspace_id: int, credit_id: int) -> Credit:
    credit_row = store.get_credit(conn, workspace_id, credit_id)
    if credit_row is None:
        raise CampaignError(f"No credit {credit_id} in this workspace.", code="campaigns.credit_not_found",
                            status=404, details={"credit_id": credit_id})
    if credit_row.status is not CreditStatus.HELD:
        raise CampaignError(f"Credit {credit_id} is {credit_row.status.value}, not held for review.",
                            code="campaigns.not_held", status=409, details={"status": credit_row.status.value})
    return credit_row


def _reload(conn: Connection, workspace_id: int, credit_id: int) -> Credit:
    found = store.get_credit(conn, workspace_id, credit_id)
    assert found is not None
    return found
