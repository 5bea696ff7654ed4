"""Tables: profiles and identity."""

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
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- profiles and identity -------------------------------------------------------------------

profiles = Table(
    "profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("merged_into", BigInteger, nullable=True),  # set when this profile was merged away
    Column("erased_at", Timestamp, nullable=True),  # PIPL / GDPR erasure tombstone
    Column("traits", JSONType, nullable=False),
    Column("trait_meta", JSONType, nullable=False),  # {key: {"type", "updated_at", "source"}}
    Column("first_seen_at", Timestamp, nullable=True),
    Column("last_seen_at", Timestamp, nullable=True),
    Column("event_count", Integer, nullable=False, server_default="0"),
    Column("order_count", Integer, nullable=False, server_default="0"),
    Column("total_spend", Float, nullable=False, server_default="0"),
    Column("first_order_at", Timestamp, nullable=True),
    Column("last_order_at", Timestamp, nullable=True),
    Column("first_channel", String(100), nullable=True),
    Column("last_channel", String(100), nullable=True),
    Index("ix_profiles_ws_created", "workspace_id", "created_at"),
    Index("ix_profiles_ws_last_seen", "workspace_id", "last_seen_at"),
    Index("ix_profiles_ws_first_channel", "workspace_id", "first_channel"),
)

identities = Table(
    "identities",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("type", String(100), nullable=False),  # user_id, phone, wechat_openid:wx123, ...
    Column("value", String(320), nullable=False),  # normalised (E.164 phone, lower-case email)
    Column("profile_id", BigInteger, nullable=False),
    Column("first_seen_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("source", String(64), nullable=False),
    PrimaryKeyConstraint("workspace_id", "type", "value"),
    Index("ix_identities_profile", "workspace_id", "profile_id"),
)

# A random token per workspace, replaced by every change to its identities (links, re-points,
# deletions). Processes that cache identifier owners compare it under the graph lock: equal means
# nothing changed since they cached (random, not a counter, so a rolled-back change can't be
# mistaken for a later committed one).
identity_versions = Table(
    "identity_versions",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=False),
    Column("token", BigInteger, nullable=False),
)

profile_merges = Table(
    "profile_merges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("from_profile_id", BigInteger, nullable=False),
    Column("into_profile_id", BigInteger, nullable=False),
    Column("identities", JSONType, nullable=False),  # identifiers moved, [{"type", "value"}]
    Column("message_id", String(128), nullable=True),  # the event that caused it, if any
    Column("reason", String(64), nullable=False),  # MergeReason: event | alias | manual
    Column("actor", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_profile_merges_from", "workspace_id", "from_profile_id"),
    Index("ix_profile_merges_into", "workspace_id", "into_profile_id"),
)

identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", String(128), nullable=True),
    Column("identifier_type", String(100), nullable=False),
    Column("identifier_value", String(320), nullable=False),
    Column("profile_ids", JSONType, nullable=False),
    Column("rule", String(64), nullable=False),  # which limit refused the merge
    Column("detail", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_identity_conflicts_ws_time", "workspace_id", "created_at"),
)

profile_event_counts = Table(
    "profile_event_counts",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_at", Timestamp, nullable=False),
    Column("last_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "name"),
)
