"""WeChat / WeCom callbacks, keyword and welcome replies (issue 5)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "reply_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("match", sa.String(length=16), nullable=False),
        sa.Column("patterns", JSON, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("reply", JSON, nullable=False),
        sa.Column("variants", JSON, nullable=False),
        sa.Column("match_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_matched_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_rules")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_reply_rules_name"),
    )
    with op.batch_alter_table("reply_rules", schema=None) as batch_op:
        batch_op.create_index("ix_reply_rules_trigger", ["workspace_id", "trigger", "priority"], unique=False)
    op.create_table(
        "welcome_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("sent_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_welcome_messages")),
        sa.UniqueConstraint("workspace_id", "platform", name="uq_welcome_messages_platform"),
    )


def downgrade() -> None:
    op.drop_table("welcome_messages")
    with op.batch_alter_table("reply_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_rules_trigger")
    op.drop_table("reply_rules")
