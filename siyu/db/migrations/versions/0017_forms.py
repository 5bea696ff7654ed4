"""hosted forms with SMS verification and consent evidence (issue 5)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "forms",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("definition", JSONType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("updated_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forms")),
        sa.UniqueConstraint("slug", name="uq_forms_slug"),
    )
    op.create_index("ix_forms_workspace", "forms", ["workspace_id", "id"])
    op.create_table(
        "form_codes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.BigInteger(), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("provider_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.Column("expires_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_codes")),
    )
    op.create_index("ix_form_codes_phone", "form_codes", ["workspace_id", "phone", "created_at"])
    op.create_index("ix_form_codes_ip", "form_codes", ["workspace_id", "ip", "created_at"])
    op.create_table(
        "form_submissions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.BigInteger(), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("fields", JSONType, nullable=False),
        sa.Column("channel", JSONType, nullable=False),
        sa.Column("consent", JSONType, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(500), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("created_at", Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submissions")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_form_submissions_key"),
    )
    op.create_index("ix_form_submissions_form", "form_submissions", ["workspace_id", "form_id", "created_at"])
    op.create_table(
        "form_views",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.UniqueConstraint("workspace_id", "form_id", "day", name="uq_form_views_day"),
    )


def downgrade() -> None:
    op.drop_table("form_views")
    op.drop_index("ix_form_submissions_form", table_name="form_submissions")
    op.drop_table("form_submissions")
    op.drop_index("ix_form_codes_ip", table_name="form_codes")
    op.drop_index("ix_form_codes_phone", table_name="form_codes")
    op.drop_table("form_codes")
    op.drop_index("ix_forms_workspace", table_name="forms")
    op.drop_table("forms")
