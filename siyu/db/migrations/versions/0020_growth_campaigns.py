"""fission campaigns, participations and anti-fraud decisions (issue 6, parts 3-4)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("rules", JSONType, nullable=False),
        sa.Column("operator", JSONType, nullable=False),
        sa.Column("starts_at", Timestamp(), nullable=False),
        sa.Column("ends_at", Timestamp(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", Timestamp(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("token", name="uq_campaigns_token"),
    )
    op.create_index("ix_campaigns_workspace", "campaigns", ["workspace_id", "status", "id"])
    op.create_table(
        "campaign_participants",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("link_opens", sa.Integer(), nullable=False),
        sa.Column("new_customer", sa.Integer(), nullable=False),
        sa.Column("joined_at", Timestamp(), nullable=False),
        sa.Column("progress_at", Timestamp(), nullable=False),
        sa.Column("state", JSONType, nullable=True),
        sa.Column("phase", sa.String(8), nullable=True),
        sa.Column("deadline", Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_participants")),
        sa.UniqueConstraint("workspace_id", "campaign_id", "profile_id", name="uq_campaign_participants_person"),
        sa.UniqueConstraint("token", name="uq_campaign_participants_token"),
    )
    op.create_index("ix_campaign_participants_rank", "campaign_participants",
                    ["workspace_id", "campaign_id", "progress", "progress_at"])
    op.create_index("ix_campaign_participants_due", "campaign_participants", ["workspace_id", "phase", "deadline"])
    op.create_table(
        "campaign_credits",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("unique_key", sa.String(100), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("new_customer", sa.Integer(), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=True),
        sa.Column("reasons", JSONType, nullable=True),
        sa.Column("decision_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("qualified_at", Timestamp(), nullable=True),
        sa.Column("credited_at", Timestamp(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_credits")),
        sa.UniqueConstraint("workspace_id", "campaign_id", "unique_key", name="uq_campaign_credits_key"),
    )
    op.create_index("ix_campaign_credits_invitee", "campaign_credits", ["workspace_id", "profile_id", "status"])
    op.create_index("ix_campaign_credits_participant", "campaign_credits",
                    ["workspace_id", "participant_id", "status"])
    op.create_table(
        "campaign_rewards",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("reward_key", sa.String(100), nullable=False),
        sa.Column("credit_id", sa.BigInteger(), nullable=True),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("claim_id", sa.BigInteger(), nullable=True),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_rewards")),
        sa.UniqueConstraint("workspace_id", "campaign_id", "reward_key", name="uq_campaign_rewards_key"),
    )
    op.create_index("ix_campaign_rewards_credit", "campaign_rewards", ["workspace_id", "credit_id"])
    op.create_table(
        "campaign_counters",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("cap", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("workspace_id", "campaign_id", "name", name="uq_campaign_counters_name"),
    )


def downgrade() -> None:
    op.drop_table("campaign_counters")
    op.drop_index("ix_campaign_rewards_credit", table_name="campaign_rewards")
    op.drop_table("campaign_rewards")
    op.drop_index("ix_campaign_credits_participant", table_name="campaign_credits")
    op.drop_index("ix_campaign_credits_invitee", table_name="campaign_credits")
    op.drop_table("campaign_credits")
    op.drop_index("ix_campaign_participants_due", table_name="campaign_participants")
    op.drop_index("ix_campaign_participants_rank", table_name="campaign_participants")
    op.drop_table("campaign_participants")
    op.drop_index("ix_campaigns_workspace", table_name="campaigns")
    op.drop_table("campaigns")
