"""WeCom and subscribe-message channel state

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribe_grants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("granted_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("used_by_message", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribe_grants")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_subscribe_grants_key"),
    )
    with op.batch_alter_table("subscribe_grants", schema=None) as batch_op:
        batch_op.create_index("ix_subscribe_grants_person", ["workspace_id", "profile_id", "template_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscribe_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_subscribe_grants_person")
    op.drop_table("subscribe_grants")
