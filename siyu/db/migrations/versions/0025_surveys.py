"""surveys and their answers, date-gift calendars (issue 7, parts 4 and 6)

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from siyu.db.types import JSONType, Timestamp

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # The date gifts (part 4) need no table: they keep their cursors in segment_cursors and the
    # workspace's own dates in its settings.
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("texts", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_surveys_workspace_id", "surveys", ["workspace_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("send_key", sa.String(100), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["surveys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "survey_id", "profile_id", "send_key", name="uq_survey_answers_send"),
    )
    op.create_index("ix_survey_answers_survey_time", "survey_answers", ["workspace_id", "survey_id", "answered_at"])


def downgrade() -> None:
    op.drop_index("ix_survey_answers_survey_time", table_name="survey_answers")
    op.drop_table("survey_answers")
    op.drop_index("ix_surveys_workspace_id", table_name="surveys")
    op.drop_table("surveys")
