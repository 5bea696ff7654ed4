"""offers, coupon codes, claims and redemptions (issue 6, parts 1-2)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("redeemed", sa.Integer(), nullable=False),
        sa.Column("per_person_limit", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=True),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("threshold_fen", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("gift_name", sa.String(100), nullable=True),
        sa.Column("valid_from", Timestamp(), nullable=True),
        sa.Column("valid_until", Timestamp(), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("channels", JSONType, nullable=True),
        sa.Column("products", JSONType, nullable=True),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("code_source", sa.String(16), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_workspace", "offers", ["workspace_id", "id"])
    op.create_table(
        "offer_codes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_codes")),
        sa.UniqueConstraint("workspace_id", "code", name="uq_offer_codes_code"),
    )
    op.create_index("ix_offer_codes_free", "offer_codes", ["workspace_id", "offer_id", "claim_id"])
    op.create_table(
        "offer_holdings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.UniqueConstraint("workspace_id", "offer_id", "profile_id", name="uq_offer_holdings_person"),
    )
    op.create_table(
        "offer_claims",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("campaign_id", sa.BigInteger(), nullable=True),
        sa.Column("cost_fen", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("reward_id", sa.BigInteger(), nullable=True),
        sa.Column("delivery", JSONType, nullable=True),
        sa.Column("fulfilment", sa.String(16), nullable=True),
        sa.Column("claimed_at", Timestamp(), nullable=False),
        sa.Column("valid_from", Timestamp(), nullable=True),
        sa.Column("valid_until", Timestamp(), nullable=True),
        sa.Column("redeem_key", sa.String(200), nullable=True),
        sa.Column("order_id", sa.String(100), nullable=True),
        sa.Column("order_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("discount_fen", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_at", Timestamp(), nullable=True),
        sa.Column("void_reason", sa.String(200), nullable=True),
        sa.Column("ended_at", Timestamp(), nullable=True),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_claims")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_offer_claims_key"),
        sa.UniqueConstraint("workspace_id", "code", name="uq_offer_claims_code"),
    )
    op.create_index("ix_offer_claims_offer", "offer_claims", ["workspace_id", "offer_id", "status", "id"])
    op.create_index("ix_offer_claims_profile", "offer_claims", ["workspace_id", "profile_id", "id"])
    op.create_index("ix_offer_claims_due", "offer_claims", ["workspace_id", "status", "valid_until"])
    op.create_table(
        "offer_budgets",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.UniqueConstraint("workspace_id", "campaign_id", name="uq_offer_budgets_campaign"),
    )


def downgrade() -> None:
    op.drop_table("offer_budgets")
    op.drop_index("ix_offer_claims_due", table_name="offer_claims")
    op.drop_index("ix_offer_claims_profile", table_name="offer_claims")
    op.drop_index("ix_offer_claims_offer", table_name="offer_claims")
    op.drop_table("offer_claims")
    op.drop_table("offer_holdings")
    op.drop_index("ix_offer_codes_free", table_name="offer_codes")
    op.drop_table("offer_codes")
    op.drop_index("ix_offers_workspace", table_name="offers")
    op.drop_table("offers")
