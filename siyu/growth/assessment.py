"""An invite or help judged by anti-fraud before it counts: the facts gathered from the identity graph
and the invite log, the pure verdict, and the decision stored with its reasons whatever it says
(:mod:`siyu.growth.fraud`, :mod:`siyu.growth.fraud_store`, both the anti-fraud capability's; this
module only wires a campaign's credits to them).

The campaign's rules give the policy: ``new_customers_only`` (a hard rule in the verdict) and
``revoke_within_days``; ``rules.fraud`` may override thresholds (see :class:`FraudPolicy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.growth.fraud import FraudDecision, FraudPolicy, Verdict, assess_invite
from siyu.growth.models import Campaign, Credit, Participant

__all__ = ["SUBJECT", "Assessment", "Verdict", "assess_credit", "policy_of"]

SUBJECT = "campaign_credit"  # the subject kind of a credit's decision in the review queue


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    risk_score: int
    reasons: list[dict[str, Any]]
    invitee_is_new: bool
    decision_id: int | None


def policy_of(campaign: Campaign, *, helper_new_only: bool = False) -> FraudPolicy:
    rules = campaign.rules
    settings = dict(rules.get("fraud") or {})
    settings["new_customers_only"] = bool(rules.get("new_customers_only", False) or helper_new_only)
    settings["revoke_within_days"] = int(rules.get("revoke_within_days", 7))
    return FraudPolicy.from_dict(settings)


def assess_credit(conn: Connection, workspace_id: int, campaign: Campaign, owner: Participant, credit: Credit, *,
                  device_id: str | None, ip: str | None, now: datetime, helper_new_only: bool = False) -> Assessment:
    """Gather → assess → record, in the caller's transaction (so the decision and the credit it
    decided are written together or not at all)."""
    from siyu.growth import fraud_store

    facts = fraud_store.gather_invite_facts(conn, workspace_id, campaign_id=campaign.id,
                                            inviter_profile_id=owner.profile_id,
                                            invitee_profile_id=credit.profile_id, device_id=device_id, ip=ip,
                                            now=now)
    decision: FraudDecision = assess_invite(facts, policy_of(campaign, helper_new_only=helper_new_only))
    decision_id = fraud_store.record_decision(conn, workspace_id, campaign_id=campaign.id, subject_kind=SUBJECT,
                                              subject_id=credit.id, inviter_profile_id=owner.profile_id,
                                              invitee_profile_id=credit.profile_id, decision=decision, now=now,
                                              facts=facts)
    return Assessment(decision.verdict, decision.risk_score, [r.to_dict() for r in decision.reasons],
                      decision.invitee_is_new, decision_id)
