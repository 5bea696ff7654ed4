"""broadcast fan-out speed (issue 4): the provider-id index of messages only where there is one

A broadcast writes a million outbox rows without a provider id (queued or stopped); the receipts'
lookup by ``provider_id = ?`` never needs them (bench/RESULTS.md, 2026-11-30 19:00).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_provider")
    op.create_index("ix_messages_provider", "messages", ["workspace_id", "provider_id"], unique=False,
                    sqlite_where=sa.text("provider_id IS NOT NULL"),
                    postgresql_where=sa.text("provider_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_messages_provider", table_name="messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_provider", ["workspace_id", "provider_id"], unique=False)
