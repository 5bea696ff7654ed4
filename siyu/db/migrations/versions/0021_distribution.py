"""promoters, attribution touches and the commission ledger (issue 6, part 5)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "promoters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("profile_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("landing_url", sa.String(1000), nullable=False),
        sa.Column("products", JSONType, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promoters")),
        sa.UniqueConstraint("token", name="uq_promoters_token"),
        sa.UniqueConstraint("workspace_id", "staff_id", name="uq_promoters_staff"),
        sa.UniqueConstraint("workspace_id", "profile_id", name="uq_promoters_profile"),
    )
    op.create_index("ix_promoters_parent", "promoters", ["workspace_id", "parent_id"])
    op.create_table(
        "promoter_touches",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("promoter_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=True),
        sa.Column("touched_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promoter_touches")),
        sa.UniqueConstraint("workspace_id", "ref", name="uq_promoter_touches_ref"),
    )
    op.create_index("ix_promoter_touches_visitor", "promoter_touches", ["workspace_id", "visitor_id", "touched_at"])
    op.create_index("ix_promoter_touches_profile", "promoter_touches", ["workspace_id", "profile_id", "touched_at"])
    op.create_index("ix_promoter_touches_promoter", "promoter_touches", ["workspace_id", "promoter_id", "touched_at"])
    op.create_table(
        "commission_plans",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("rules", JSONType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", name="uq_commission_plans_workspace"),
    )
    op.create_table(
        "commissions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("promoter_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("base_fen", sa.BigInteger(), nullable=False),
        sa.Column("buyer_profile_id", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("touch_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", JSONType, nullable=True),
        sa.Column("ordered_at", Timestamp(), nullable=False),
        sa.Column("confirm_after", Timestamp(), nullable=False),
        sa.Column("confirmed_at", Timestamp(), nullable=True),
        sa.Column("paid_at", Timestamp(), nullable=True),
        sa.Column("reversed_at", Timestamp(), nullable=True),
        sa.Column("payout_id", sa.Integer(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions")),
        sa.UniqueConstraint("workspace_id", "order_id", "promoter_id", "level", "kind", name="uq_commissions_key"),
    )
    op.create_index("ix_commissions_due", "commissions", ["workspace_id", "status", "confirm_after"])
    op.create_index("ix_commissions_promoter", "commissions", ["workspace_id", "promoter_id", "created_at"])
    op.create_index("ix_commissions_order", "commissions", ["workspace_id", "order_id"])
    op.create_table(
        "commission_payouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("promoter_id", sa.Integer(), nullable=True),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_payouts")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_commission_payouts_key"),
    )


def downgrade() -> None:
    op.drop_table("commission_payouts")
    op.drop_index("ix_commissions_order", table_name="commissions")
    op.drop_index("ix_commissions_promoter", table_name="commissions")
    op.drop_index("ix_commissions_due", table_name="commissions")
    op.drop_table("commissions")
    op.drop_table("commission_plans")
    op.drop_index("ix_promoter_touches_promoter", table_name="promoter_touches")
    op.drop_index("ix_promoter_touches_profile", table_name="promoter_touches")
    op.drop_index("ix_promoter_touches_visitor", table_name="promoter_touches")
    op.drop_table("promoter_touches")
    op.drop_index("ix_promoters_parent", table_name="promoters")
    op.drop_table("promoters")
