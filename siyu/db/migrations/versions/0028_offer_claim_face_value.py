"""a claim's own face value (issue 6, fission campaigns): a split coupon's share, a bargain's amount
cut off or a group buy's saving is what the claim's coupon takes off, not the offer's amount

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default and no backfill: every existing claim is worth its offer's amount, which is
    # what null means, so a large claims table is altered without rewriting its rows.
    with op.batch_alter_table("offer_claims") as batch:
        batch.add_column(sa.Column("amount_fen", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offer_claims") as batch:
        batch.drop_column("amount_fen")
