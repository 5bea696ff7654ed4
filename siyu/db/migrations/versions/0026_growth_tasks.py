"""growth tasks: task definitions, progress per person and period, rewards, marks (issue 7, part 3)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loyalty_tasks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("starts_at", Timestamp(), nullable=True),
        sa.Column("ends_at", Timestamp(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tasks")),
        sa.UniqueConstraint("workspace_id", "key", name="uq_loyalty_tasks_key"),
    )
    op.create_table(
        "loyalty_task_progress",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("completed_at", Timestamp(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", "task_id", "profile_id", "period", name="uq_loyalty_task_progress"),
    )
    op.create_index("ix_loyalty_task_progress_profile", "loyalty_task_progress", ["workspace_id", "profile_id"])
    op.create_index("ix_loyalty_task_progress_done", "loyalty_task_progress",
                    ["workspace_id", "task_id", "completed_at"])
    op.create_table(
        "loyalty_task_rewards",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("reward_key", sa.String(120), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=True),
        sa.Column("points_error", sa.String(64), nullable=True),
        sa.Column("offer_error", sa.String(64), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("delivered_at", Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_task_rewards")),
        sa.UniqueConstraint("workspace_id", "task_id", "profile_id", "period", name="uq_loyalty_task_rewards"),
    )
    op.create_index("ix_loyalty_task_rewards_status", "loyalty_task_rewards", ["workspace_id", "status"])
    op.create_table(
        "loyalty_task_marks",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("mark", sa.String(200), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", "mark", name="uq_loyalty_task_marks"),
    )


def downgrade() -> None:
    op.drop_table("loyalty_task_marks")
    op.drop_index("ix_loyalty_task_rewards_status", table_name="loyalty_task_rewards")
    op.drop_table("loyalty_task_rewards")
    op.drop_index("ix_loyalty_task_progress_done", table_name="loyalty_task_progress")
    op.drop_index("ix_loyalty_task_progress_profile", table_name="loyalty_task_progress")
    op.drop_table("loyalty_task_progress")
    op.drop_table("loyalty_tasks")
