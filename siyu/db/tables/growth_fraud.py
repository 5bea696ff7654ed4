"""Tables: the anti-fraud invite log and decisions, and the operators' review queue (issue 6, part 4)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# Who came through whose link, once per (campaign, inviter, invitee): the first time, from which
# device, IP and phone. Cluster sizes, velocity and the invite graph (cycles) are read from here.
# Unique, so a retried scan or a second qualifying event logs nothing twice and ``invited_at``
# stays the first time — the moment "new customer" is judged against.
growth_invites = Table(
    "growth_invites",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("inviter_profile_id", BigInteger, nullable=False),
    Column("invitee_profile_id", BigInteger, nullable=False),
    Column("device_id", String(128), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("phone", String(32), nullable=True),  # E.164, when the invitee gave one
    Column("invited_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "campaign_id", "inviter_profile_id", "invitee_profile_id",
                     name="uq_growth_invites_pair"),
    Index("ix_growth_invites_inviter", "workspace_id", "campaign_id", "inviter_profile_id", "invited_at"),
    Index("ix_growth_invites_invitee", "workspace_id", "campaign_id", "invitee_profile_id"),
    Index("ix_growth_invites_device", "workspace_id", "device_id", "invited_at"),
    Index("ix_growth_invites_ip", "workspace_id", "ip", "invited_at"),
    Index("ix_growth_invites_phone", "workspace_id", "phone", "invited_at"),
)

# Every anti-fraud decision with its reasons and the facts it was made on, one per subject (a
# campaign credit, a help, a bargain cut: ``subject_kind`` + ``subject_id``), so a retry decides
# nothing twice. ``review_status``: ``none`` for allow / deny, ``pending`` while a ``review``
# verdict waits for an operator, then ``approved`` / ``rejected`` (ReviewStatus).
growth_fraud_decisions = Table(
    "growth_fraud_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("subject_kind", String(32), nullable=False),
    Column("subject_id", String(100), nullable=False),
    Column("inviter_profile_id", BigInteger, nullable=True),
    Column("invitee_profile_id", BigInteger, nullable=True),
    Column("verdict", String(16), nullable=False),  # Verdict: allow | review | deny
    Column("risk_score", Integer, nullable=False),
    Column("reasons", JSONType, nullable=False),  # [{"code", "weight", "detail"}]
    Column("facts", JSONType, nullable=True),  # the InviteFacts the verdict was made on
    Column("review_status", String(16), nullable=False),
    Column("reviewed_by", String(200), nullable=True),
    Column("review_note", Text, nullable=True),
    Column("reviewed_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "subject_kind", "subject_id", name="uq_growth_fraud_decisions_subject"),
    Index("ix_growth_fraud_decisions_review", "workspace_id", "review_status", "id"),
    Index("ix_growth_fraud_decisions_campaign", "workspace_id", "campaign_id", "id"),
)
