"""cash rewards (red packets) ledger and budgets; a channel code's reward (issue 5, part 9)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rewards",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("wishing", sa.String(128), nullable=False),
        sa.Column("act_name", sa.String(32), nullable=False),
        sa.Column("remark", sa.String(256), nullable=False),
        sa.Column("scene_id", sa.String(32), nullable=True),
        sa.Column("recipient", sa.String(128), nullable=True),
        sa.Column("bill_no", sa.String(28), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp(), nullable=False),
        sa.Column("claimed_at", Timestamp(), nullable=True),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("provider_status", sa.String(16), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_detail", sa.String(500), nullable=True),
        sa.Column("decided_at", Timestamp(), nullable=False),
        sa.Column("sent_at", Timestamp(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_rewards_key"),
        sa.UniqueConstraint("workspace_id", "bill_no", name="uq_rewards_bill_no"),
    )
    op.create_index("ix_rewards_due", "rewards", ["workspace_id", "status", "next_attempt_at"])
    op.create_index("ix_rewards_profile", "rewards", ["workspace_id", "profile_id", "decided_at"])
    op.create_index("ix_rewards_reason", "rewards", ["workspace_id", "reason", "id"])
    op.create_table(
        "reward_budgets",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("committed_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", "reason", name="uq_reward_budgets_reason"),
    )
    with op.batch_alter_table("channel_codes") as batch:
        batch.add_column(sa.Column("reward", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_codes") as batch:
        batch.drop_column("reward")
    op.drop_table("reward_budgets")
    op.drop_index("ix_rewards_reason", table_name="rewards")
    op.drop_index("ix_rewards_profile", table_name="rewards")
    op.drop_index("ix_rewards_due", table_name="rewards")
    op.drop_table("rewards")
