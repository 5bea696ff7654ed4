"""Tables: surveys (an NPS question and an optional comment) and their answers (issue 7, part 6)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from siyu.db.tables.base import metadata
from siyu.db.types import JSONType, Timestamp

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")

surveys = Table(
    "surveys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("texts", JSONType, nullable=False),  # {"question": {"zh","en"}, "comment": {...} | None, "thanks": {...}}
    Column("status", String(16), nullable=False),  # active | closed
    Column("created_at", Timestamp, nullable=False),
)

survey_answers = Table(
    "survey_answers",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("survey_id", Integer, ForeignKey("surveys.id"), nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("send_key", String(100), nullable=False),  # which sending of the survey the link came from
    Column("score", Integer, nullable=False),
    Column("category", String(16), nullable=False),  # promoter | passive | detractor
    Column("comment", Text, nullable=True),
    Column("answered_at", Timestamp, nullable=False),  # the first answer: the re-answer window counts from it
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "survey_id", "profile_id", "send_key", name="uq_survey_answers_send"),
    Index("ix_survey_answers_survey_time", "workspace_id", "survey_id", "answered_at"),
)
