"""Anti-fraud for fission campaigns: is this invite (or help) real? Pure.

``assess_invite(facts, policy) -> FraudDecision``. The facts are gathered from the identity graph
and the invite log (:func:`siyu.growth.fraud_store.gather_invite_facts`); the decision is stored
with its reasons whatever it says (:func:`siyu.growth.fraud_store.record_decision`), so an operator
can always see why a reward was paid, held or refused.

Hard rules, whatever the score (verdict ``deny``, score 100):

- ``self_invite``: inviter and invitee are one person — the same profile once both are resolved
  through merges (someone who invites their own second WeChat account and is later merged by a
  shared phone is caught here).
- ``invite_cycle``: the invitee already (directly or through others) invited the inviter; a ring
  of accounts inviting each other farms every reward in the ring.
- ``not_new_customer`` when the policy pays for new customers only: "new" is judged against the
  identity graph — the earliest first-seen time over every identifier of the invitee's profile and
  of every profile merged into it, and any order before the invite. Someone who scans as a fresh
  WeChat account and is merged into an existing customer by their phone is *not* new.

Scored signals (each adds its weight once; ``risk_score = min(100, Σ weights)``):

=====================  ==========================================================  ======
code                   triggers when                                                weight
=====================  ==========================================================  ======
``device_cluster``     ≥ ``device_cluster_at`` invitees on the invitee's device     40
``ip_cluster``         ≥ ``ip_cluster_at`` invitees from the invitee's IP           20
``phone_cluster``      ≥ ``phone_cluster_at`` invitees with the invitee's phone     40
``inviter_device``     the invitee acts from a device the inviter used              50
``velocity_hour``      the inviter's invites in the last hour ≥ ``per_hour``        30
``velocity_day``       the inviter's invites in the last day ≥ ``per_day``          30
=====================  ==========================================================  ======

(cluster sizes count the distinct invitees in the log window, this one included).
Verdict: ``deny`` at ``risk_score >= deny_at`` (80), ``review`` at ``>= review_at`` (40), else
``allow``. The defaults make one signal alone at most a review, and two strong ones a denial —
shared Wi-Fi in an office (IP) never denies by itself.

Revocation (:func:`revoke_credit`): a credit is taken back when the invitee unfollows or leaves the
group within ``revoke_within_days`` of the credit — the common farm pattern of following for the
reward and leaving an hour later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    DENY = "deny"


class ReasonCode(StrEnum):
    SELF_INVITE = "self_invite"
    INVITE_CYCLE = "invite_cycle"
    NOT_NEW_CUSTOMER = "not_new_customer"
    DEVICE_CLUSTER = "device_cluster"
    IP_CLUSTER = "ip_cluster"
    PHONE_CLUSTER = "phone_cluster"
    INVITER_DEVICE = "inviter_device"
    VELOCITY_HOUR = "velocity_hour"
    VELOCITY_DAY = "velocity_day"
    UNFOLLOWED = "unfollowed"
    LEFT_GROUP = "left_group"


HARD_RULES = frozenset({ReasonCode.SELF_INVITE, ReasonCode.INVITE_CYCLE, ReasonCode.NOT_NEW_CUSTOMER})


@dataclass(frozen=True)
class InviteFacts:
    """What is known about one invite when it is judged (all ids resolved through merges)."""

    inviter_profile_id: int
    invitee_profile_id: int
    invited_at: datetime  # the first time this invitee came through this inviter's link
    invitee_first_seen_at: datetime | None  # earliest over the invitee's identifiers and merged profiles
    invitee_first_order_at: datetime | None = None
    invitee_merged_profiles: int = 0  # profiles merged into the invitee's
    device_cluster_size: int = 0  # distinct invitees seen on the invitee's device (this one included)
    ip_cluster_size: int = 0
    phone_cluster_size: int = 0
    inviter_device_match: bool = False  # the invitee's device was used by the inviter
    invites_last_hour: int = 0  # by this inviter in this campaign, this one included
    invites_last_day: int = 0
    invite_cycle: bool = False
    invitee_unfollowed_at: datetime | None = None
    invitee_left_group_at: datetime | None = None


@dataclass(frozen=True)
class FraudPolicy:
    """Thresholds and weights (see the table in the module docstring)."""

    review_at: int = 40
    deny_at: int = 80
    device_cluster_at: int = 3
    ip_cluster_at: int = 5
    phone_cluster_at: int = 2
    per_hour: int = 10
    per_day: int = 50
    new_customers_only: bool = False
    new_customer_grace: timedelta = timedelta(minutes=10)  # identifiers created by the invite scan itself
    revoke_within_days: int = 7
    weights: dict[str, int] = field(default_factory=lambda: {
        ReasonCode.DEVICE_CLUSTER: 40, ReasonCode.IP_CLUSTER: 20, ReasonCode.PHONE_CLUSTER: 40,
        ReasonCode.INVITER_DEVICE: 50, ReasonCode.VELOCITY_HOUR: 30, ReasonCode.VELOCITY_DAY: 30,
    })

    @classmethod
    def from_dict(cls, settings: dict[str, Any] | None) -> FraudPolicy:
        """A policy from a campaign's JSON settings (``rules.fraud``). Unknown keys and unknown reason
        codes in ``weights`` are ignored (a newer rules document still loads); a value that is not a
        whole number ≥ 0 is a ``ValueError`` naming the key."""
        values: dict[str, Any] = {}
        for key, value in dict(settings or {}).items():
            if key == "weights":
                if not isinstance(value, dict):
                    raise ValueError("fraud.weights is an object of reason code → points.")
                known = {code.value for code in ReasonCode}
                values["weights"] = {**cls().weights, **{ReasonCode(k): _whole(f"fraud.weights.{k}", v)
                                                         for k, v in value.items() if k in known}}
            elif key == "new_customer_grace_minutes":
                values["new_customer_grace"] = timedelta(minutes=_whole(f"fraud.{key}", value))
            elif key in ("new_customers_only",):
                values[key] = bool(value)
            elif key in cls.__dataclass_fields__ and key not in ("weights", "new_customer_grace"):
                values[key] = _whole(f"fraud.{key}", value)
        return cls(**values)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or int(value) != value:
        raise ValueError(f"{name} must be a whole number ≥ 0 (got {value!r}).")
    return int(value)


@dataclass(frozen=True)
class Reason:
    code: str
    weight: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FraudDecision:
    verdict: Verdict
    risk_score: int  # 0–100
    reasons: list[Reason]
    invitee_is_new: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "risk_score": self.risk_score, "invitee_is_new": self.invitee_is_new,
                "reasons": [r.to_dict() for r in self.reasons]}


def is_new_customer(facts: InviteFacts, policy: FraudPolicy) -> bool:
    """New = first seen (anywhere in the graph) no earlier than the invite, less the grace for the
    identifiers the invite scan itself created, and no order before the invite."""
    if facts.invitee_first_order_at is not None and facts.invitee_first_order_at < facts.invited_at:
        return False
    first_seen = facts.invitee_first_seen_at
    return first_seen is None or first_seen >= facts.invited_at - policy.new_customer_grace


def assess_invite(facts: InviteFacts, policy: FraudPolicy | None = None) -> FraudDecision:
    """The verdict on one invite (see the module docstring for the rules and the score)."""
    policy = policy or FraudPolicy()
    new = is_new_customer(facts, policy)
    hard = _hard_reasons(facts, policy, new)
    if hard:
        return FraudDecision(Verdict.DENY, 100, hard, new)
    reasons = _scored_reasons(facts, policy)
    score = min(100, sum(r.weight for r in reasons))
    verdict = (Verdict.DENY if score >= policy.deny_at
               else Verdict.REVIEW if score >= policy.review_at else Verdict.ALLOW)
    return FraudDecision(verdict, score, reasons, new)


def _hard_reasons(facts: InviteFacts, policy: FraudPolicy, new: bool) -> list[Reason]:
    reasons = []
    if facts.inviter_profile_id == facts.invitee_profile_id:
        reasons.append(Reason(ReasonCode.SELF_INVITE, 100, f"Inviter and invitee are one profile "
                                                           f"({facts.inviter_profile_id}) after merges."))
    if facts.invite_cycle:
        reasons.append(Reason(ReasonCode.INVITE_CYCLE, 100, "The invitee already invited the inviter, "
                                                             "directly or through others."))
    if policy.new_customers_only and not new:
        seen = facts.invitee_first_seen_at.isoformat() if facts.invitee_first_seen_at else "unknown"
        merged = f", {facts.invitee_merged_profiles} merged profile(s)" if facts.invitee_merged_profiles else ""
        ordered = " and ordered before" if (facts.invitee_first_order_at
                                           and facts.invitee_first_order_at < facts.invited_at) else ""
        reasons.append(Reason(ReasonCode.NOT_NEW_CUSTOMER, 100,
                              f"First seen {seen}{merged}{ordered}; the invite came {facts.invited_at.isoformat()}."))
    return reasons


def _scored_reasons(facts: InviteFacts, policy: FraudPolicy) -> list[Reason]:
    weights = policy.weights
    checks = (
        (ReasonCode.DEVICE_CLUSTER, facts.device_cluster_size >= policy.device_cluster_at,
         f"{facts.device_cluster_size} invitees on one device (threshold {policy.device_cluster_at})."),
        (ReasonCode.IP_CLUSTER, facts.ip_cluster_size >= policy.ip_cluster_at,
         f"{facts.ip_cluster_size} invitees from one IP (threshold {policy.ip_cluster_at})."),
        (ReasonCode.PHONE_CLUSTER, facts.phone_cluster_size >= policy.phone_cluster_at,
         f"{facts.phone_cluster_size} invitees with one phone (threshold {policy.phone_cluster_at})."),
        (ReasonCode.INVITER_DEVICE, facts.inviter_device_match, "The invitee used a device the inviter used."),
        (ReasonCode.VELOCITY_HOUR, facts.invites_last_hour >= policy.per_hour,
         f"{facts.invites_last_hour} invites by the inviter in the last hour (limit {policy.per_hour})."),
        (ReasonCode.VELOCITY_DAY, facts.invites_last_day >= policy.per_day,
         f"{facts.invites_last_day} invites by the inviter in the last day (limit {policy.per_day})."),
    )
    return [Reason(code, int(weights.get(code, 0)), detail) for code, hit, detail in checks if hit]


@dataclass(frozen=True)
class Revocation:
    revoke: bool
    reason: Reason | None = None


def revoke_credit(*, credited_at: datetime, unfollowed_at: datetime | None = None,
                  left_group_at: datetime | None = None, within_days: int = 7) -> Revocation:
    """Take a credit back when the invitee unfollowed or left the group at or after the credit and
    less than ``within_days`` days after it (the earlier of the two decides the reason)."""
    window_end = credited_at + timedelta(days=within_days)
    candidates = [(at, code) for at, code in ((unfollowed_at, ReasonCode.UNFOLLOWED),
                                              (left_group_at, ReasonCode.LEFT_GROUP))
                  if at is not None and credited_at <= at < window_end]
    if not candidates:
        return Revocation(False)
    at, code = min(candidates)
    what = "unfollowed" if code is ReasonCode.UNFOLLOWED else "left the group"
    hours = (at - credited_at).total_seconds() / 3600
    return Revocation(True, Reason(code, 0, f"The invitee {what} {hours:.1f} h after the credit "
                                            f"(within {within_days} days)."))
