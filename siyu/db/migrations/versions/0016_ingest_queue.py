"""acknowledged ingest waiting for resolution (issue 2)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_queue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_queue")),
    )
    op.create_index("ix_ingest_queue_workspace", "ingest_queue", ["workspace_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ingest_queue_workspace", table_name="ingest_queue")
    op.drop_table("ingest_queue")
