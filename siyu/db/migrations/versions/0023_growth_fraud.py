"""anti-fraud decisions and the review queue for fission campaigns (issue 6, part 4)

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 21:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "growth_invites",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("inviter_profile_id", sa.BigInteger(), nullable=False),
        sa.Column("invitee_profile_id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("invited_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_invites")),
        sa.UniqueConstraint("workspace_id", "campaign_id", "inviter_profile_id", "invitee_profile_id",
                            name="uq_growth_invites_pair"),
    )
    op.create_index("ix_growth_invites_inviter", "growth_invites",
                    ["workspace_id", "campaign_id", "inviter_profile_id", "invited_at"])
    op.create_index("ix_growth_invites_invitee", "growth_invites",
                    ["workspace_id", "campaign_id", "invitee_profile_id"])
    op.create_index("ix_growth_invites_device", "growth_invites", ["workspace_id", "device_id", "invited_at"])
    op.create_index("ix_growth_invites_ip", "growth_invites", ["workspace_id", "ip", "invited_at"])
    op.create_index("ix_growth_invites_phone", "growth_invites", ["workspace_id", "phone", "invited_at"])
    op.create_table(
        "growth_fraud_decisions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("inviter_profile_id", sa.BigInteger(), nullable=True),
        sa.Column("invitee_profile_id", sa.BigInteger(), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("reasons", JSONType, nullable=False),
        sa.Column("facts", JSONType, nullable=True),
        sa.Column("review_status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_at", Timestamp(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_fraud_decisions")),
        sa.UniqueConstraint("workspace_id", "subject_kind", "subject_id", name="uq_growth_fraud_decisions_subject"),
    )
    op.create_index("ix_growth_fraud_decisions_review", "growth_fraud_decisions",
                    ["workspace_id", "review_status", "id"])
    op.create_index("ix_growth_fraud_decisions_campaign", "growth_fraud_decisions",
                    ["workspace_id", "campaign_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_growth_fraud_decisions_campaign", table_name="growth_fraud_decisions")
    op.drop_index("ix_growth_fraud_decisions_review", table_name="growth_fraud_decisions")
    op.drop_table("growth_fraud_decisions")
    for name in ("phone", "ip", "device", "invitee", "inviter"):
        op.drop_index(f"ix_growth_invites_{name}", table_name="growth_invites")
    op.drop_table("growth_invites")
