"""staff, personas, customer ownership and channel codes (issue 5)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_code_arrivals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=True),
        sa.Column("first_time", sa.Integer(), server_default="0", nullable=False),
        sa.Column("at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_code_arrivals")),
        sa.UniqueConstraint("workspace_id", "event_key", name="uq_channel_code_arrivals_key"),
    )
    op.create_index(
        "ix_channel_code_arrivals_code", "channel_code_arrivals", ["workspace_id", "code_id", "day"], unique=False
    )
    op.create_table(
        "channel_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("ticket", sa.String(length=200), nullable=True),
        sa.Column("qr_url", sa.String(length=500), nullable=True),
        sa.Column("config_id", sa.String(length=64), nullable=True),
        sa.Column("caption", sa.String(length=200), nullable=True),
        sa.Column("welcome", JSON, nullable=True),
        sa.Column("tags", JSON, nullable=True),
        sa.Column("journey_id", sa.Integer(), nullable=True),
        sa.Column("routing", JSON, nullable=True),
        sa.Column("pushed_users", JSON, nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_codes")),
        sa.UniqueConstraint("workspace_id", "key", name="uq_channel_codes_key"),
    )
    op.create_table(
        "customer_owners",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("started_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("start_reason", sa.String(length=32), nullable=False),
        sa.Column("ended_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_owners")),
        sa.UniqueConstraint("workspace_id", "source_key", name="uq_customer_owners_key"),
    )
    op.create_index(
        "ix_customer_owners_profile", "customer_owners", ["workspace_id", "profile_id", "ended_at"], unique=False
    )
    op.create_index(
        "ix_customer_owners_userid", "customer_owners", ["workspace_id", "userid", "ended_at"], unique=False
    )
    op.create_table(
        "customer_transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("external_userid", sa.String(length=128), nullable=False),
        sa.Column("handover_userid", sa.String(length=64), nullable=False),
        sa.Column("takeover_userid", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("submitted_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("takeover_at", siyu.db.types.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_transfers")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_customer_transfers_key"),
    )
    op.create_index(
        "ix_customer_transfers_profile",
        "customer_transfers",
        ["workspace_id", "profile_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_customer_transfers_status", "customer_transfers", ["workspace_id", "status"], unique=False)
    op.create_table(
        "sop_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("due_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_run_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sop_rules")),
    )
    op.create_index("ix_sop_rules_ws", "sop_rules", ["workspace_id", "status"], unique=False)
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("avatar_url", sa.String(length=500), nullable=True),
        sa.Column("signature", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("persona_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("left_at", siyu.db.types.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("workspace_id", "userid", name="uq_staff_userid"),
    )
    op.create_index("ix_staff_ws_kind", "staff", ["workspace_id", "kind", "status"], unique=False)
    op.create_table(
        "staff_task_results",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("userid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "task_id", name=op.f("pk_staff_task_results")),
    )


def downgrade() -> None:
    op.drop_table("staff_task_results")
    op.drop_index("ix_staff_ws_kind", table_name="staff")
    op.drop_table("staff")
    op.drop_index("ix_sop_rules_ws", table_name="sop_rules")
    op.drop_table("sop_rules")
    op.drop_index("ix_customer_transfers_status", table_name="customer_transfers")
    op.drop_index("ix_customer_transfers_profile", table_name="customer_transfers")
    op.drop_table("customer_transfers")
    op.drop_index("ix_customer_owners_userid", table_name="customer_owners")
    op.drop_index("ix_customer_owners_profile", table_name="customer_owners")
    op.drop_table("customer_owners")
    op.drop_table("channel_codes")
    op.drop_index("ix_channel_code_arrivals_code", table_name="channel_code_arrivals")
    op.drop_table("channel_code_arrivals")
