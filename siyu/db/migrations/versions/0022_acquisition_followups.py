"""channel-code and contact follow-ups: WeCom external contacts' details (unionid) (issue 5)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import Timestamp

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "wecom_contact_details",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("external_userid", sa.String(128), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("unionid", sa.String(128), nullable=True),
        sa.Column("contact_type", sa.SmallInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("fetched_at", Timestamp(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_contact_details")),
        sa.UniqueConstraint("workspace_id", "external_userid", name="uq_wecom_contact_details_contact"),
    )
    op.create_index("ix_wecom_contact_details_due", "wecom_contact_details",
                    ["workspace_id", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_wecom_contact_details_due", table_name="wecom_contact_details")
    op.drop_table("wecom_contact_details")
