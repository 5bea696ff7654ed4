"""Anti-fraud storage: the invite log the facts are read from, every decision with its reasons, and
the operators' review queue with the effects a resolution triggers.

Facts come from the identity graph (identifiers and merges — :mod:`siyu.identity.store` and the
profiles' tombstones) and from :data:`growth_invites`, this module's log of who came through whose
link from which device, IP and phone. Decisions are stored one per subject (``subject_kind`` +
``subject_id``: a campaign credit, a help, a cut) with ``INSERT … ON CONFLICT DO NOTHING``, so a
retried request never decides twice.

Reviews. A ``review`` verdict waits (``review_status = pending``) for an operator. Resolving it is
one conditional ``UPDATE … WHERE review_status = 'pending'``: of two operators (or a double click)
resolving at once, exactly one row update succeeds and only that caller runs the effects, inside
the same transaction — so an approval's reward is granted once, and a failing effect rolls the
resolution back with it. The loser re-reads the row: the same verdict is answered as done
(idempotent), the opposite one is a conflict (``growth.review_conflict``).

Effects are registered by the capability that owns the subject (the campaigns register what
approve and reject do to a held credit) with :func:`siyu.growth.review_effects.register_review_effect`;
the modules that register them are listed in :data:`siyu.growth.review_effects.EFFECT_MODULES` and
imported before the first resolution, like
:data:`siyu.callbacks.hooks.HANDLER_MODULES`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables.growth_fraud import growth_fraud_decisions, growth_invites
from siyu.db.tables.profiles import identities, profiles
from siyu.errors import SiyuError
from siyu.growth.fraud import FraudDecision, InviteFacts, Revocation, Verdict
from siyu.growth.review_effects import effects_for
from siyu.identity.normalise import InvalidIdentifier, normalise_phone
from siyu.profiles.read_store import resolve_profile_id
from siyu.profiles.store import load_traits

CLUSTER_WINDOW = timedelta(days=30)  # invites further back no longer make a device or IP suspicious
CYCLE_DEPTH = 8  # invite chains longer than this are not followed (each hop is one query)
CYCLE_NODES = 5_000


class FraudError(SiyuError):
    code = "growth.fraud_invalid"
    status = 422


class ReviewNotFound(FraudError):
    code = "growth.review_not_found"
    status = 404


class ReviewConflict(FraudError):
    """The decision is not waiting for review, or was resolved the other way already."""

    code = "growth.review_conflict"
    status = 409


class ReviewStatus(StrEnum):
    NONE = "none"  # allow / deny: nothing to review
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReviewAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class StoredDecision:
    """A stored decision as operators see it."""

    id: int
    campaign_id: int
    subject_kind: str
    subject_id: str
    inviter_profile_id: int | None
    invitee_profile_id: int | None
    verdict: str
    risk_score: int
    reasons: list[dict[str, Any]]
    facts: dict[str, Any] | None
    review_status: ReviewStatus
    reviewed_by: str | None
    review_note: str | None
    reviewed_at: datetime | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the invite log and the facts ------------------------------------------------------------------


def log_invite(conn: Connection, workspace_id: int, *, campaign_id: int, inviter_profile_id: int,
               invitee_profile_id: int, device_id: str | None, ip: str | None, phone: str | None,
               now: datetime) -> datetime:
    """Log the pair once (the first time wins) and return when the invitee first came through this
    inviter's link in this campaign."""
    conn.execute(upsert(conn, growth_invites).values(
        workspace_id=workspace_id, campaign_id=campaign_id, inviter_profile_id=inviter_profile_id,
        invitee_profile_id=invitee_profile_id, device_id=device_id or None, ip=ip or None, phone=phone or None,
        invited_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "campaign_id", "inviter_profile_id",
                                             "invitee_profile_id"]))
    return conn.execute(select(growth_invites.c.invited_at).where(
        growth_invites.c.workspace_id == workspace_id, growth_invites.c.campaign_id == campaign_id,
        growth_invites.c.inviter_profile_id == inviter_profile_id,
        growth_invites.c.invitee_profile_id == invitee_profile_id)).scalar_one()


def gather_invite_facts(conn: Connection, workspace_id: int, *, campaign_id: int, inviter_profile_id: int,
                        invitee_profile_id: int, device_id: str | None, ip: str | None, now: datetime,
                        phone: str | None = None) -> InviteFacts:
    """Everything :func:`siyu.growth.fraud.assess_invite` needs, after logging this invite (so the
    clusters and the velocity include it). Both ids are resolved through merges first: a merged-away
    id stands for its survivor (an unknown id is ``profiles.not_found``). Without a ``phone`` the
    invitee's own is used (:func:`_phone_of`)."""
    inviter = resolve_profile_id(conn, workspace_id, inviter_profile_id)
    invitee = resolve_profile_id(conn, workspace_id, invitee_profile_id)
    phone = phone or _phone_of(conn, workspace_id, invitee)
    invited_at = log_invite(conn, workspace_id, campaign_id=campaign_id, inviter_profile_id=inviter,
                            invitee_profile_id=invitee, device_id=device_id, ip=ip, phone=phone, now=now)
    first_seen, first_order, merged = _history(conn, workspace_id, invitee)
    since = now - CLUSTER_WINDOW
    return InviteFacts(
        inviter_profile_id=inviter, invitee_profile_id=invitee, invited_at=invited_at,
        invitee_first_seen_at=first_seen, invitee_first_order_at=first_order, invitee_merged_profiles=merged,
        device_cluster_size=_cluster(conn, workspace_id, growth_invites.c.device_id, device_id, since),
        ip_cluster_size=_cluster(conn, workspace_id, growth_invites.c.ip, ip, since),
        phone_cluster_size=_cluster(conn, workspace_id, growth_invites.c.phone, phone, since),
        inviter_device_match=_used_device(conn, workspace_id, inviter, device_id),
        invites_last_hour=_invites_since(conn, workspace_id, campaign_id, inviter, now - timedelta(hours=1)),
        invites_last_day=_invites_since(conn, workspace_id, campaign_id, inviter, now - timedelta(days=1)),
        invite_cycle=_reaches(conn, workspace_id, campaign_id, start=invitee, goal=inviter),
    )


def _phone_of(conn: Connection, workspace_id: int, profile_id: int) -> str | None:
    """The invitee's phone when the caller gave none: its phone identifier, else its ``phone`` trait —
    the trait matters most, because a phone the identity rules refused to link (a phone shared by
    too many profiles) stays only in the traits, and that sharing is what the cluster is for."""
    linked = conn.execute(select(identities.c.value).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id,
        identities.c.type == "phone").order_by(identities.c.first_seen_at).limit(1)).scalar_one_or_none()
    if linked:
        return str(linked)
    traits, _ = load_traits(conn, workspace_id, [profile_id]).get(profile_id, ({}, {}))
    raw = traits.get("phone")
    if not isinstance(raw, str | int) or not str(raw).strip():
        return None
    try:
        return normalise_phone(str(raw))
    except InvalidIdentifier:
        return None


def _history(conn: Connection, workspace_id: int, profile_id: int) -> tuple[datetime | None, datetime | None, int]:
    """The earliest first-seen over the profile's identifiers and every profile merged into it, its
    first order, and how many profiles were merged into it (tombstones point at their survivor)."""
    row = conn.execute(select(
        func.min(func.coalesce(profiles.c.first_seen_at, profiles.c.created_at)),
        func.min(profiles.c.first_order_at),
        func.count().filter(profiles.c.id != profile_id),
    ).where(profiles.c.workspace_id == workspace_id,
            (profiles.c.id == profile_id) | (profiles.c.merged_into == profile_id))).one()
    identifier_seen = conn.execute(select(func.min(identities.c.first_seen_at)).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id)).scalar_one_or_none()
    seen = [t for t in (row[0], identifier_seen) if t is not None]
    return (min(seen) if seen else None), row[1], int(row[2] or 0)


def _cluster(conn: Connection, workspace_id: int, column: Any, value: str | None, since: datetime) -> int:
    if not value:
        return 0
    return int(conn.execute(select(func.count(func.distinct(growth_invites.c.invitee_profile_id))).where(
        growth_invites.c.workspace_id == workspace_id, column == value,
        growth_invites.c.invited_at >= since)).scalar_one())


def _used_device(conn: Connection, workspace_id: int, profile_id: int, device_id: str | None) -> bool:
    """Whether the profile was seen on the device: it came through someone's link from it, or the
    device id is one of its identifiers (an ``anonymous_id``)."""
    if not device_id:
        return False
    logged = conn.execute(select(growth_invites.c.id).where(
        growth_invites.c.workspace_id == workspace_id, growth_invites.c.invitee_profile_id == profile_id,
        growth_invites.c.device_id == device_id).limit(1)).first()
    if logged is not None:
        return True
    return conn.execute(select(identities.c.profile_id).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id,
        identities.c.value == device_id).limit(1)).first() is not None


def _invites_since(conn: Connection, workspace_id: int, campaign_id: int, inviter: int, since: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(growth_invites).where(
        growth_invites.c.workspace_id == workspace_id, growth_invites.c.campaign_id == campaign_id,
        growth_invites.c.inviter_profile_id == inviter, growth_invites.c.invited_at >= since)).scalar_one())


def _reaches(conn: Connection, workspace_id: int, campaign_id: int, *, start: int, goal: int) -> bool:
    """Whether ``start`` invited ``goal``, directly or through a chain of invites in this campaign
    (breadth first, one query per hop, bounded by :data:`CYCLE_DEPTH` and :data:`CYCLE_NODES`)."""
    seen, frontier = {start}, {start}
    for _ in range(CYCLE_DEPTH):
        rows = conn.execute(select(growth_invites.c.invitee_profile_id).where(
            growth_invites.c.workspace_id == workspace_id, growth_invites.c.campaign_id == campaign_id,
            growth_invites.c.inviter_profile_id.in_(sorted(frontier)))).scalars()
        frontier = {int(r) for r in rows} - seen
        if goal in frontier:
            return True
        if not frontier or len(seen) > CYCLE_NODES:
            return False
        seen |= frontier
    return False


# --- decisions and reviews ------------------------------------------------------------------------


def record_decision(conn: Connection, workspace_id: int, *, campaign_id: int, subject_kind: str, subject_id: str | int,
                    inviter_profile_id: int | None, invitee_profile_id: int | None, decision: FraudDecision,
                    now: datetime, facts: InviteFacts | None = None) -> int:
    """Store the decision with its reasons (and the facts) and return its id; a ``review`` verdict
    enters the queue. One decision per subject: recording it again returns the first one's id."""
    review = ReviewStatus.PENDING if decision.verdict is Verdict.REVIEW else ReviewStatus.NONE
    inserted = conn.execute(upsert(conn, growth_fraud_decisions).values(
        workspace_id=workspace_id, campaign_id=campaign_id, subject_kind=subject_kind, subject_id=str(subject_id),
        inviter_profile_id=inviter_profile_id, invitee_profile_id=invitee_profile_id,
        verdict=decision.verdict.value, risk_score=decision.risk_score,
        reasons=[r.to_dict() for r in decision.reasons], facts=_facts_json(facts), review_status=review.value,
        created_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "subject_kind", "subject_id"])
        .returning(growth_fraud_decisions.c.id)).first()
    if inserted is not None:
        return int(inserted[0])
    return int(conn.execute(select(growth_fraud_decisions.c.id).where(
        growth_fraud_decisions.c.workspace_id == workspace_id, growth_fraud_decisions.c.subject_kind == subject_kind,
        growth_fraud_decisions.c.subject_id == str(subject_id))).scalar_one())


def record_revocation(conn: Connection, workspace_id: int, *, campaign_id: int, subject_kind: str,
                      subject_id: str | int, inviter_profile_id: int | None, invitee_profile_id: int | None,
                      revocation: Revocation, now: datetime) -> int | None:
    """Store a credit taken back (:func:`siyu.growth.fraud.revoke_credit` said so) as a ``deny`` with its
    reason, on the subject ``<subject_kind>.revoked`` — so the decisions log shows the whole story of
    a credit (allowed, then revoked) and the campaign's summary counts it. None when nothing was revoked."""
    if not revocation.revoke or revocation.reason is None:
        return None
    return record_decision(conn, workspace_id, campaign_id=campaign_id, subject_kind=f"{subject_kind}.revoked",
                           subject_id=subject_id, inviter_profile_id=inviter_profile_id,
                           invitee_profile_id=invitee_profile_id,
                           decision=FraudDecision(Verdict.DENY, 100, [revocation.reason]), now=now)


def _facts_json(facts: InviteFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(facts).items()}


def get_decision(conn: Connection, workspace_id: int, decision_id: int) -> StoredDecision:
    row = conn.execute(select(growth_fraud_decisions).where(
        growth_fraud_decisions.c.workspace_id == workspace_id, growth_fraud_decisions.c.id == decision_id)).first()
    if row is None:
        raise ReviewNotFound(f"No anti-fraud decision {decision_id} in this workspace.",
                             details={"decision_id": decision_id})
    return _decision(row)


def _decision(row: Any) -> StoredDecision:
    values = dict(row._mapping)
    values.pop("workspace_id")
    values["review_status"] = ReviewStatus(values["review_status"])
    return StoredDecision(**values)


def review_queue(conn: Connection, workspace_id: int, *, status: ReviewStatus | None = ReviewStatus.PENDING,
                 campaign_id: int | None = None, verdict: str | None = None, before_id: int | None = None,
                 limit: int = 100) -> list[StoredDecision]:
    """Decisions newest first: by default the ones waiting for an operator."""
    query = select(growth_fraud_decisions).where(growth_fraud_decisions.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(growth_fraud_decisions.c.review_status == status.value)
    if campaign_id is not None:
        query = query.where(growth_fraud_decisions.c.campaign_id == campaign_id)
    if verdict is not None:
        query = query.where(growth_fraud_decisions.c.verdict == verdict)
    if before_id is not None:
        query = query.where(growth_fraud_decisions.c.id < before_id)
    rows = conn.execute(query.order_by(growth_fraud_decisions.c.id.desc()).limit(limit))
    return [_decision(r) for r in rows]


def count_pending(conn: Connection, workspace_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(growth_fraud_decisions).where(
        growth_fraud_decisions.c.workspace_id == workspace_id,
        growth_fraud_decisions.c.review_status == ReviewStatus.PENDING.value)).scalar_one())


def decision_summary(conn: Connection, workspace_id: int, *, campaign_id: int) -> dict[str, Any]:
    """One campaign's decisions counted by verdict, by review outcome and by reason code (for its
    dashboard: how much anti-fraud held or refused, and why)."""
    where = (growth_fraud_decisions.c.workspace_id == workspace_id,
             growth_fraud_decisions.c.campaign_id == campaign_id)
    verdicts = {v.value: 0 for v in Verdict}
    reviews = {s.value: 0 for s in ReviewStatus if s is not ReviewStatus.NONE}
    for verdict, review, count in conn.execute(select(
            growth_fraud_decisions.c.verdict, growth_fraud_decisions.c.review_status, func.count())
            .where(*where).group_by(growth_fraud_decisions.c.verdict, growth_fraud_decisions.c.review_status)):
        verdicts[verdict] = verdicts.get(verdict, 0) + int(count)
        if review in reviews:
            reviews[review] += int(count)
    reasons: dict[str, int] = {}
    for (listed,) in conn.execute(select(growth_fraud_decisions.c.reasons).where(
            *where, growth_fraud_decisions.c.verdict != Verdict.ALLOW.value)):
        for reason in listed or []:
            reasons[reason["code"]] = reasons.get(reason["code"], 0) + 1
    return {"campaign_id": campaign_id, "verdicts": verdicts, "reviews": reviews,
            "reasons": dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0])))}


def resolve_review(conn: Connection, workspace_id: int, decision_id: int, *, verdict: ReviewAction | str,
                   operator: str, note: str | None, now: datetime) -> tuple[StoredDecision, bool]:
    """Approve or reject a pending decision and run the registered effects; whether this call
    resolved it (False: it was already resolved the same way — nothing is done twice). See the
    module docstring for the concurrency argument."""
    action = ReviewAction(verdict)
    status = ReviewStatus.APPROVED if action is ReviewAction.APPROVE else ReviewStatus.REJECTED
    won = conn.execute(update(growth_fraud_decisions).where(and_(
        growth_fraud_decisions.c.workspace_id == workspace_id, growth_fraud_decisions.c.id == decision_id,
        growth_fraud_decisions.c.review_status == ReviewStatus.PENDING.value,
    )).values(review_status=status.value, reviewed_by=operator, review_note=note or None, reviewed_at=now)
        .returning(growth_fraud_decisions.c.id)).first()
    decision = get_decision(conn, workspace_id, decision_id)  # 404 for another workspace's id
    if won is None:
        if decision.review_status is status:
            return decision, False
        raise ReviewConflict(
            f"Decision {decision_id} is {decision.review_status.value}, so it can't be {status.value} "
            f"now{' (resolved by ' + decision.reviewed_by + ')' if decision.reviewed_by else ''}.",
            details={"decision_id": decision_id, "review_status": decision.review_status.value})
    for effect in effects_for(decision.subject_kind, action.value):
        effect(conn, workspace_id, decision, now)
    return decision, True
