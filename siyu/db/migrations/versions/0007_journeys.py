"""journeys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("draft", JSON, nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("published_at", siyu.db.types.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
    )
    op.create_index("ix_journeys_ws_status", "journeys", ["workspace_id", "status"])
    op.create_table(
        "journey_versions",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("after_event_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.Column("published_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "journey_id", "version", name=op.f("pk_journey_versions")),
    )
    op.create_table(
        "journey_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("cohort", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("step_started_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("due_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("woken_by", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("after_event_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("context", JSON, nullable=True),
        sa.Column("entered_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("finished_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("converted_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("exit_reason", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_entries")),
        sa.UniqueConstraint("workspace_id", "journey_id", "entry_key", name="uq_journey_entries_key"),
    )
    op.create_index("ix_journey_entries_due", "journey_entries", ["status", "due_at"])
    op.create_index("ix_journey_entries_profile", "journey_entries", ["workspace_id", "profile_id", "journey_id"])
    op.create_index("ix_journey_entries_journey", "journey_entries", ["workspace_id", "journey_id", "status"])
    op.create_table(
        "journey_step_visits",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("journey_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entered_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("left_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", "entry_id", "step", name=op.f("pk_journey_step_visits")),
    )
    op.create_index("ix_journey_step_visits_journey", "journey_step_visits", ["workspace_id", "journey_id", "step"])
    op.create_table(
        "staff_tasks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("due_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tasks")),
        sa.UniqueConstraint("workspace_id", "source_key", name="uq_staff_tasks_key"),
    )
    op.create_index("ix_staff_tasks_ws_status", "staff_tasks", ["workspace_id", "status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_tasks_ws_status", table_name="staff_tasks")
    op.drop_table("staff_tasks")
    op.drop_index("ix_journey_step_visits_journey", table_name="journey_step_visits")
    op.drop_table("journey_step_visits")
    op.drop_index("ix_journey_entries_journey", table_name="journey_entries")
    op.drop_index("ix_journey_entries_profile", table_name="journey_entries")
    op.drop_index("ix_journey_entries_due", table_name="journey_entries")
    op.drop_table("journey_entries")
    op.drop_table("journey_versions")
    op.drop_index("ix_journeys_ws_status", table_name="journeys")
    op.drop_table("journeys")
