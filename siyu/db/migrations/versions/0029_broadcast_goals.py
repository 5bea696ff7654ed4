"""a broadcast's goal and holdout: the event that counts as a conversion within a window after each
member's message, and the share of members kept back as a control group to measure the lift against

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing broadcasts have no goal (null) and held nobody back (0): nothing to backfill.
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("goal", JSONType, nullable=True))
        batch.add_column(sa.Column("holdout_percent", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("holdout_percent")
        batch.drop_column("goal")
