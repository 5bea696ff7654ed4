"""Tables: fission campaigns, their participants, the credits (invites and helps) they earn, the
rewards granted for them, and the counters (budget, tier stock) issuance is taken against (issue 6)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# A campaign (裂变活动): one kind (referral, assist, task_unlock, leaderboard, ...), its rules as the
# validated JSON of that kind (siyu.growth.rules), its window, its budget and the operator named on
# its public page (``/c/<token>``; the token is the address, unique across workspaces).
# ``status``: draft → live → ended. ``settled_at`` marks the end-of-campaign prizes as handed out.
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("token", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(8), nullable=False),  # draft | live | ended
    Column("rules", JSONType, nullable=False),
    Column("operator", JSONType, nullable=False),  # {"name", "contact"}: who runs it, shown on its pages
    Column("starts_at", Timestamp, nullable=False),
    Column("ends_at", Timestamp, nullable=False),
    Column("budget_fen", BigInteger, nullable=True),  # None: no budget
    Column("settled_at", Timestamp, nullable=True),
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("token", name="uq_campaigns_token"),
    Index("ix_campaigns_workspace", "workspace_id", "status", "id"),
)

# One person taking part. ``token`` is their personal share reference (``?ref=``); ``progress``
# counts their credited invites or helps (moved by conditional UPDATEs only, never read-modify-write);
# ``link_opens`` counts visits through their link (the invites sent). The mechanics with a state of
# their own (a group buy's group, a bargain, a split pool, a check-in history) keep it in ``state``
# (the pure module's state as JSON), changed only under the row's lock; ``phase`` (open | done |
# failed) and ``deadline`` let the worker find the open ones whose time is up.
campaign_participants = Table(
    "campaign_participants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("token", String(32), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("link_opens", Integer, nullable=False),
    Column("new_customer", Integer, nullable=False),  # 1 when the person was new to the brand on joining
    Column("joined_at", Timestamp, nullable=False),
    Column("progress_at", Timestamp, nullable=False),  # last credit: leaderboard ties go to the earlier
    Column("state", JSONType, nullable=True),
    Column("phase", String(8), nullable=True),
    Column("deadline", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "campaign_id", "profile_id", name="uq_campaign_participants_person"),
    UniqueConstraint("token", name="uq_campaign_participants_token"),
    Index("ix_campaign_participants_rank", "workspace_id", "campaign_id", "progress", "progress_at"),
    Index("ix_campaign_participants_due", "workspace_id", "phase", "deadline"),
)

# One invite or help: the person who came (``profile_id``) for a participant. ``unique_key`` makes
# "one help per helper" and "one inviter per invitee" a unique index, not a check. States:
# pending (waits for the qualifying action) · held (waits for an operator's review) · credited ·
# denied (anti-fraud) · revoked (unfollowed or left within the window) · expired (never qualified).
campaign_credits = Table(
    "campaign_credits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("participant_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),  # invite | help | join
    Column("unique_key", String(100), nullable=False),
    Column("status", String(8), nullable=False),
    Column("new_customer", Integer, nullable=False),
    Column("risk_score", Integer, nullable=True),
    Column("reasons", JSONType, nullable=True),  # the anti-fraud decision's reasons
    Column("decision_id", BigInteger, nullable=True),  # the stored fraud decision, when one was recorded
    Column("created_at", Timestamp, nullable=False),
    Column("qualified_at", Timestamp, nullable=True),
    Column("credited_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "campaign_id", "unique_key", name="uq_campaign_credits_key"),
    Index("ix_campaign_credits_invitee", "workspace_id", "profile_id", "status"),
    Index("ix_campaign_credits_participant", "workspace_id", "participant_id", "status"),
)

# A reward decided for a person: written before the offer is claimed, unique on its reason
# (``reward_key``, e.g. ``credit:12:inviter``, ``tier:1:7``, ``rank:3``), so a retry grants nothing
# twice. ``status``: granted | refused (budget, stock, limit: ``error_code`` says which) | voided.
campaign_rewards = Table(
    "campaign_rewards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("reward_key", String(100), nullable=False),
    Column("credit_id", BigInteger, nullable=True),
    Column("offer_id", BigInteger, nullable=True),
    Column("claim_id", BigInteger, nullable=True),
    Column("cost_fen", Integer, nullable=False),
    Column("status", String(8), nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "campaign_id", "reward_key", name="uq_campaign_rewards_key"),
    Index("ix_campaign_rewards_credit", "workspace_id", "credit_id"),
)

# What a campaign may hand out: ``budget`` (fen) and each tier's stock (``tier:<i>``). Taken with one
# conditional UPDATE (used + amount <= cap), so two arrivals can't both take the last unit.
campaign_counters = Table(
    "campaign_counters",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("name", String(32), nullable=False),
    Column("cap", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "campaign_id", "name", name="uq_campaign_counters_name"),
)
