"""Tables: loyalty — tier ladders, members' growth value and tier, tier history, the points ledger
and its lots (issue 7, parts 1-2)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# One loyalty programme per workspace: growth-value weights, the evaluation period and grace, the
# earning rules, lot expiry and reminder settings (checked by siyu.loyalty.programme). ``period_start``
# anchors the evaluation periods; ``period_index`` is the last period the nightly job closed.
loyalty_programmes = Table(
    "loyalty_programmes",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("settings", JSONType, nullable=False),
    Column("period_start", Timestamp, nullable=False),
    Column("period_index", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", name="uq_loyalty_programmes_workspace"),
)

# The ladder: rank 0 is the entry tier (threshold 0). Multiplier in percent (150 = 1.5x points).
tiers = Table(
    "tiers",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("threshold", BigInteger, nullable=False),
    Column("points_multiplier", Integer, nullable=False),
    Column("reach_offer_id", BigInteger, nullable=True),
    Column("monthly_offer_id", BigInteger, nullable=True),
    Column("priority_service", Boolean, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "rank", name="uq_tiers_rank"),
)

# A member: growth value in the current period (and the last closed one), the tier held, a pending
# downgrade (grace), and the points balance — which always equals the sum of the member's ledger
# entries and of their lots' remaining points. ``points_debt`` is what a refund could not take back.
loyalty_members = Table(
    "loyalty_members",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("growth_value", BigInteger, nullable=False),
    Column("previous_growth", BigInteger, nullable=False),
    Column("tier_rank", Integer, nullable=False),
    Column("tier_since", Timestamp, nullable=False),
    Column("downgrade_to", Integer, nullable=True),
    Column("downgrade_at", Timestamp, nullable=True),
    Column("points_balance", BigInteger, nullable=False),
    Column("points_debt", BigInteger, nullable=False),
    Column("last_active_day", Integer, nullable=True),  # local day number (days since 1970-01-01)
    Column("monthly_granted", Integer, nullable=True),  # yyyymm of the last monthly benefit
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "profile_id", name="uq_loyalty_members_profile"),
    Index("ix_loyalty_members_downgrade", "workspace_id", "downgrade_at"),
)

tier_changes = Table(
    "tier_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("from_rank", Integer, nullable=True),
    Column("to_rank", Integer, nullable=False),
    Column("reason", String(16), nullable=False),  # upgrade | downgrade | grace | kept
    Column("growth_value", BigInteger, nullable=False),
    Column("changed_at", Timestamp, nullable=False),
    Index("ix_tier_changes_profile", "workspace_id", "profile_id", "id"),
    Index("ix_tier_changes_time", "workspace_id", "changed_at"),
)

# The ledger: every change of a balance, signed, unique on its key (a retried request or a
# re-read event changes nothing twice).
points_entries = Table(
    "points_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # earn | spend | expire | reverse | repay | adjust
    Column("points", BigInteger, nullable=False),
    Column("order_id", String(100), nullable=True),
    Column("lot_id", BigInteger, nullable=True),
    Column("reason", String(100), nullable=False),  # the rule, offer or note behind it
    Column("details", JSONType, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_points_entries_key"),
    Index("ix_points_entries_profile", "workspace_id", "profile_id", "id"),
    Index("ix_points_entries_order", "workspace_id", "order_id"),
)

# Earned points not yet spent or expired: consumed first-to-expire first (FIFO), expired by the
# nightly job; ``reminded_at`` once a ``Points Expiring`` event was written for it.
points_lots = Table(
    "points_lots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("order_id", String(100), nullable=True),
    Column("earned", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("expired_points", BigInteger, nullable=False),
    Column("expires_at", Timestamp, nullable=True),
    Column("reminded_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_points_lots_profile", "workspace_id", "profile_id", "expires_at", "id"),
    Index("ix_points_lots_expiry", "workspace_id", "expires_at"),
)

# Points earned per person, rule and local day, for the daily caps; ``last_grant`` is what the
# latest guarded increment actually added.
points_daily = Table(
    "points_daily",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("rule", String(100), nullable=False),
    Column("day", Integer, nullable=False),
    Column("earned", BigInteger, nullable=False),
    Column("last_grant", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "profile_id", "rule", "day", name="uq_points_daily"),
)
