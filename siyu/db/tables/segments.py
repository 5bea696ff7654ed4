"""Tables: segments, scores and customer value (issue 3)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from siyu.db.tables.base import metadata
from siyu.db.types import JSONType, Timestamp

# --- segments, scores and customer value (issue 3) --------------------------------------------

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("definition", JSONType, nullable=False),  # the segment language, see docs/segments.md
    Column("status", String(16), nullable=False),  # SegmentStatus: active | archived
    Column("size", Integer, nullable=False, server_default="0"),
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("refreshed_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "name"),
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("entered_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "segment_id", "profile_id"),
    Index("ix_segment_members_profile", "workspace_id", "profile_id"),
)

# Size per day, kept by every refresh and real-time change so the history chart needs no replay.
segment_sizes = Table(
    "segment_sizes",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD in the workspace time zone
    Column("size", Integer, nullable=False),
    Column("entered", Integer, nullable=False, server_default="0"),
    Column("exited", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("workspace_id", "segment_id", "day"),
)

# Auto-tag rules (自动打标签): a segment-language condition that adds or removes one tag.
tag_rules = Table(
    "tag_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("tag_id", Integer, nullable=False),
    Column("action", String(8), nullable=False),  # add | remove
    Column("definition", JSONType, nullable=False),
    Column("status", String(16), nullable=False),  # active | paused | archived
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

# Computed scores per profile: RFM, lifecycle, KOC and customer value. One row per scored
# profile, rewritten by the score jobs; segments read these columns directly.
profile_scores = Table(
    "profile_scores",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("rfm_recency", Integer, nullable=True),  # quintile 1..5, 5 = most recent
    Column("rfm_frequency", Integer, nullable=True),
    Column("rfm_monetary", Integer, nullable=True),
    Column("rfm_segment", String(32), nullable=True),  # champions | loyal | at_risk | ...
    Column("lifecycle_stage", String(16), nullable=True),  # new | active | dormant | churned | won_back
    Column("koc_score", Float, nullable=True),
    Column("p_alive", Float, nullable=True),
    Column("expected_purchases", Float, nullable=True),  # over the fit's horizon
    Column("expected_order_value", Float, nullable=True),
    Column("clv", Float, nullable=True),
    Column("churn_risk", Float, nullable=True),  # 1 - p_alive, kept for readable segments
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id"),
)

clv_fits = Table(
    "clv_fits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("time_unit", String(8), nullable=False),  # day | week
    Column("calibration_end", String(10), nullable=True),
    Column("customers", Integer, nullable=False),
    Column("parameters", JSONType, nullable=False),  # {"bgnbd": {...}, "gamma_gamma": {...}}
    Column("holdout", JSONType, nullable=True),  # calibration / holdout comparison when asked
    Column("created_at", Timestamp, nullable=False),
    Index("ix_clv_fits_ws_created", "workspace_id", "created_at"),
)

# Marketing spend per channel per month, entered by operators, for cost per customer.
channel_spend = Table(
    "channel_spend",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("channel", String(100), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("amount", Float, nullable=False),
    Column("currency", String(3), nullable=False, server_default="CNY"),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "channel", "month"),
)

# Where each background consumer of the event log has got to, per workspace (segments' real-time
# evaluation, the scheduled refresh). Advanced in the same transaction as the work it records, so
# a crash repeats nothing and skips nothing.
cursors = Table(
    "cursors",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "name"),
)
