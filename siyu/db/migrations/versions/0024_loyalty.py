"""tier ladders, growth value, the points ledger and its lots (issue 7, parts 1-2)

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loyalty_programmes",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("period_start", Timestamp(), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", name="uq_loyalty_programmes_workspace"),
    )
    op.create_table(
        "tiers",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("points_multiplier", sa.Integer(), nullable=False),
        sa.Column("reach_offer_id", sa.BigInteger(), nullable=True),
        sa.Column("monthly_offer_id", sa.BigInteger(), nullable=True),
        sa.Column("priority_service", sa.Boolean(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", "rank", name="uq_tiers_rank"),
    )
    op.create_table(
        "loyalty_members",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("growth_value", sa.BigInteger(), nullable=False),
        sa.Column("previous_growth", sa.BigInteger(), nullable=False),
        sa.Column("tier_rank", sa.Integer(), nullable=False),
        sa.Column("tier_since", Timestamp(), nullable=False),
        sa.Column("downgrade_to", sa.Integer(), nullable=True),
        sa.Column("downgrade_at", Timestamp(), nullable=True),
        sa.Column("points_balance", sa.BigInteger(), nullable=False),
        sa.Column("points_debt", sa.BigInteger(), nullable=False),
        sa.Column("last_active_day", sa.Integer(), nullable=True),
        sa.Column("monthly_granted", sa.Integer(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", "profile_id", name="uq_loyalty_members_profile"),
    )
    op.create_index("ix_loyalty_members_downgrade", "loyalty_members", ["workspace_id", "downgrade_at"])
    op.create_table(
        "tier_changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("from_rank", sa.Integer(), nullable=True),
        sa.Column("to_rank", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("growth_value", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_changes")),
    )
    op.create_index("ix_tier_changes_profile", "tier_changes", ["workspace_id", "profile_id", "id"])
    op.create_index("ix_tier_changes_time", "tier_changes", ["workspace_id", "changed_at"])
    op.create_table(
        "points_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=True),
        sa.Column("lot_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("details", JSONType, nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_points_entries_key"),
    )
    op.create_index("ix_points_entries_profile", "points_entries", ["workspace_id", "profile_id", "id"])
    op.create_index("ix_points_entries_order", "points_entries", ["workspace_id", "order_id"])
    op.create_table(
        "points_lots",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=True),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("expired_points", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", Timestamp(), nullable=True),
        sa.Column("reminded_at", Timestamp(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_lots")),
    )
    op.create_index("ix_points_lots_profile", "points_lots", ["workspace_id", "profile_id", "expires_at", "id"])
    op.create_index("ix_points_lots_expiry", "points_lots", ["workspace_id", "expires_at"])
    op.create_table(
        "points_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("earned", sa.BigInteger(), nullable=False),
        sa.Column("last_grant", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("workspace_id", "profile_id", "rule", "day", name="uq_points_daily"),
    )


def downgrade() -> None:
    op.drop_table("points_daily")
    op.drop_index("ix_points_lots_expiry", table_name="points_lots")
    op.drop_index("ix_points_lots_profile", table_name="points_lots")
    op.drop_table("points_lots")
    op.drop_index("ix_points_entries_order", table_name="points_entries")
    op.drop_index("ix_points_entries_profile", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_index("ix_tier_changes_time", table_name="tier_changes")
    op.drop_index("ix_tier_changes_profile", table_name="tier_changes")
    op.drop_table("tier_changes")
    op.drop_index("ix_loyalty_members_downgrade", table_name="loyalty_members")
    op.drop_table("loyalty_members")
    op.drop_table("tiers")
    op.drop_table("loyalty_programmes")
