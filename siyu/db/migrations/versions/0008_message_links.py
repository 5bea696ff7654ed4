"""tracked links and delivery receipts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import siyu.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_links",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_hit_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_message_links")),
        sa.UniqueConstraint("workspace_id", "message_id", "url_key",
                            name=op.f("uq_message_links_workspace_id_message_id_url_key")),
    )
    op.create_table(
        "message_receipts",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("opened_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("clicked_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "message_id", name=op.f("pk_message_receipts")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_provider", ["workspace_id", "provider_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_provider")
    op.drop_table("message_receipts")
    op.drop_table("message_links")
