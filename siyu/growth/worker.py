"""The worker's step for campaigns, every pass and every workspace that runs them:

1. the event log after the campaigns' cursor (``growth.campaigns``): an invitee's first
   ``Order Completed`` qualifies their referral; ``Unfollowed`` or ``Group Member Left`` within a
   campaign's ``revoke_within_days`` takes the credit back (:func:`siyu.growth.fraud.revoke_credit`);
2. referral sweeps: a "follow and stay N days" invite that stayed is credited; an invite whose
   attribution window passed without the qualifying action expires;
3. groups and bargains past their deadline: a group fails (its claims voided) or is auto-filled;
4. campaigns past their end are ended and settled (a leaderboard's prizes handed out).

Each batch is one write transaction holding the cursor (``FOR UPDATE`` on PostgreSQL, BEGIN
IMMEDIATE on SQLite), so two workers take turns and a crash repeats the batch — which changes nothing
twice, since every credit move is a compare-and-set and every reward unique on its key.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection

from siyu import clock
from siyu.db.engine import read, write
from siyu.errors import SiyuError
from siyu.growth import fraud_store, store
from siyu.growth.assessment import SUBJECT
from siyu.growth.credits import WAITING, credit, qualify, revoke
from siyu.growth.fraud import FraudDecision, Reason, Revocation, Verdict, revoke_credit
from siyu.growth.models import Campaign, CampaignKind, CampaignStatus, Credit, CreditKind, CreditStatus
from siyu.growth.rules import ReferralRules, parse_rules
from siyu.growth.sessions import ACTED_ON, close_due
from siyu.growth.settle import settle
from siyu.growth.take_back import Result, take_back
from siyu.ingest.store import newest_event_id
from siyu.runtime import Runtime
from siyu.segments import store as cursor_store

log = logging.getLogger("siyu.growth")
CURSOR = "growth.campaigns"
BATCH = 500
ORDER = "Order Completed"
UNFOLLOWED = "Unfollowed"
LEFT_GROUP = "Group Member Left"
FOLLOWED = (ORDER, UNFOLLOWED, LEFT_GROUP)
# A leave after the outcome was final scores like one clustering signal: visible in the decisions
# log and its summary, never a denial by itself (nothing is left to deny).
LEFT_AFTER_OUTCOME_WEIGHT = 20


def run_due(rt: Runtime, workspaces: list) -> dict[str, int]:  # noqa: ANN001 - Workspace rows
    with read(rt.engine) as conn:
        running = set(store.workspaces_with_campaigns(conn))
    done: dict[str, int] = {}
    for workspace in workspaces:
        if workspace.id not in running:
            continue
        try:
            for what, count in run_workspace(rt, workspace.id, clock.now()).items():
                done[what] = done.get(what, 0) + count
        except SiyuError:  # one workspace's refusal must not stop the others; the next pass retries it
            log.exception("workspace %s: the campaigns' step failed; retried next pass", workspace.id)
    return done


def run_workspace(rt: Runtime, workspace_id: int, now: datetime) -> dict[str, int]:
    done = {"events": 0, "qualified": 0, "revoked": 0, "risk_signals": 0, "expired": 0, "closed": 0, "settled": 0}
    while True:
        with write(rt.engine) as conn:
            looked = follow_events(conn, workspace_id, now, done)
        if looked < BATCH:
            break
    with write(rt.engine) as conn:
        for campaign in store.list_campaigns(conn, workspace_id, kind=CampaignKind.REFERRAL.value):
            if campaign.status is not CampaignStatus.DRAFT:
                sweep_referral(conn, workspace_id, campaign, now, done)
        close_sessions(conn, workspace_id, now, done)
        for campaign in store.campaigns_to_settle(conn, workspace_id, now):
            settle(conn, workspace_id, campaign, now)
            done["settled"] += 1
    return done


def start_cursor(conn: Connection, workspace_id: int, now: datetime) -> None:
    """At launch: the campaigns follow the log from here on (created once, never moved back)."""
    cursor_store.claim_cursor(conn, workspace_id, CURSOR, now, initial=newest_event_id(conn, workspace_id))


def follow_events(conn: Connection, workspace_id: int, now: datetime, done: dict[str, int]) -> int:
    """One batch of the log; returns how many events were looked at."""
    position = cursor_store.claim_cursor(conn, workspace_id, CURSOR, now)
    found, last, looked = store.events_after(conn, workspace_id, position, FOLLOWED, BATCH)
    campaigns: dict[int, Campaign] = {}
    for _, profile_id, name, at in found:
        done["events"] += 1
        if name == ORDER:
            for row in store.credits_of_profile(conn, workspace_id, profile_id, WAITING):
                campaign = _campaign(conn, workspace_id, row.campaign_id, campaigns)
                if row.kind is CreditKind.INVITE and _qualifies_on_order(campaign) and row.qualified_at is None:
                    done["qualified"] += int(qualify(conn, workspace_id, campaign, row, at, now))
            continue
        for row in store.credits_of_profile(conn, workspace_id, profile_id, (*WAITING, CreditStatus.CREDITED)):
            campaign = _campaign(conn, workspace_id, row.campaign_id, campaigns)
            decision = revoke_credit(credited_at=row.credited_at or row.created_at,
                                     unfollowed_at=at if name == UNFOLLOWED else None,
                                     left_group_at=at if name == LEFT_GROUP else None,
                                     within_days=int(campaign.rules.get("revoke_within_days", 7)))
            if decision.revoke and decision.reason is not None:
                _take_back_left(conn, workspace_id, campaign, row, decision, now, done)
    cursor_store.advance_cursor(conn, workspace_id, CURSOR, last, now)
    return looked


def _take_back_left(conn: Connection, workspace_id: int, campaign: Campaign, row: Credit, decision: Revocation,
                    now: datetime, done: dict[str, int]) -> None:
    """The friend left within the window. An invite or a help not yet applied is revoked as it is; a
    cut, a group place or a split share already applied is taken back while its outcome is open
    (:mod:`siyu.growth.take_back`). Either way the decision is stored with its reason (the credit's
    ``<subject>.revoked`` decision); a leave after the outcome became final takes nothing back and is
    stored as a risk signal (``<subject>.left_late``, verdict allow, its weight the score)."""
    assert decision.reason is not None
    owner = store.get_participant(conn, workspace_id, row.participant_id)
    inviter = owner.profile_id if owner is not None else None
    if campaign.kind in ACTED_ON and row.status is CreditStatus.CREDITED:
        outcome = take_back(conn, workspace_id, campaign, row, code=str(decision.reason.code),
                            detail=decision.reason.detail, now=now)
        if outcome.result is Result.FINAL:
            signal = Reason(decision.reason.code, LEFT_AFTER_OUTCOME_WEIGHT, f"{decision.reason.detail} The outcome "
                            f"was final ({outcome.why}): nothing was taken back.")
            fraud_store.record_decision(conn, workspace_id, campaign_id=campaign.id,
                                        subject_kind=f"{SUBJECT}.left_late", subject_id=row.id,
                                        inviter_profile_id=inviter, invitee_profile_id=row.profile_id,
                                        decision=FraudDecision(Verdict.ALLOW, LEFT_AFTER_OUTCOME_WEIGHT, [signal]),
                                        now=now)
            done["risk_signals"] = done.get("risk_signals", 0) + 1
            return
        taken = outcome.result is Result.TAKEN_BACK
    else:
        taken = revoke(conn, workspace_id, campaign, row, reason=decision.reason.code, now=now)
    if taken:
        fraud_store.record_revocation(conn, workspace_id, campaign_id=campaign.id, subject_kind=SUBJECT,
                                      subject_id=row.id, inviter_profile_id=inviter,
                                      invitee_profile_id=row.profile_id, revocation=decision, now=now)
        done["revoked"] += 1


def sweep_referral(conn: Connection, workspace_id: int, campaign: Campaign, now: datetime,
                   done: dict[str, int]) -> None:
    rules = parse_rules(campaign.kind, campaign.rules)
    assert isinstance(rules, ReferralRules)
    if rules.qualifying == "follow_stay":
        stay = timedelta(days=rules.stay_days)
        for row in store.pending_older_than(conn, workspace_id, campaign.id, now - stay):
            store.mark_qualified(conn, workspace_id, row.id, row.created_at + stay)
            done["qualified"] += int(credit(conn, workspace_id, campaign, row, now,
                                            from_status=(CreditStatus.PENDING,)))
        return
    window = timedelta(days=rules.attribution_days)
    for row in store.pending_older_than(conn, workspace_id, campaign.id, now - window):
        done["expired"] += int(store.move_credit(conn, workspace_id, row.id, from_status=(CreditStatus.PENDING,),
                                                 to=CreditStatus.EXPIRED, now=now))


def close_sessions(conn: Connection, workspace_id: int, now: datetime, done: dict[str, int]) -> None:
    """Groups and bargains whose deadline came: failed (claims voided) or auto-filled, closed."""
    campaigns: dict[int, Campaign] = {}
    for owner in store.due_participants(conn, workspace_id, now):
        close_due(conn, workspace_id, _campaign(conn, workspace_id, owner.campaign_id, campaigns), owner, now)
        done["closed"] += 1


def _qualifies_on_order(campaign: Campaign) -> bool:
    return campaign.kind is CampaignKind.REFERRAL and campaign.rules.get("qualifying") == "first_order"


def _campaign(conn: Connection, workspace_id: int, campaign_id: int, seen: dict[int, Campaign]) -> Campaign:
    if campaign_id not in seen:
        seen[campaign_id] = store.get_campaign(conn, workspace_id, campaign_id)
    return seen[campaign_id]
