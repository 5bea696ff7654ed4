"""Tables: tags and consent."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from siyu.db.tables.base import metadata
from siyu.db.types import Timestamp

# --- tags and consent -------------------------------------------------------------------------

tag_groups = Table(
    "tag_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # TagGroupKind: identity | business
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("group_id", Integer, ForeignKey("tag_groups.id"), nullable=True),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

profile_tags = Table(
    "profile_tags",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("tag_id", Integer, nullable=False),
    Column("source", String(64), nullable=False),  # manual | bulk | import | rule:<id> | api
    Column("added_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "tag_id"),
    Index("ix_profile_tags_tag", "workspace_id", "tag_id"),
)

consents = Table(
    "consents",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),  # wechat | wecom | sms | email | webhook | any
    Column("purpose", String(16), nullable=False),  # marketing | transactional
    Column("status", String(16), nullable=False),  # granted | revoked
    Column("source", String(64), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "channel", "purpose"),
)
