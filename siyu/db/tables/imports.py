"""Tables: imports and erasure."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from siyu.db.tables.base import metadata
from siyu.db.types import Timestamp

# --- imports and erasure ------------------------------------------------------------------------

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # customers | orders
    Column("filename", String(500), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("preset", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # ImportStatus: running | done | failed
    Column("rows_total", Integer, nullable=False, server_default="0"),
    Column("rows_ok", Integer, nullable=False, server_default="0"),
    Column("rows_duplicate", Integer, nullable=False, server_default="0"),
    Column("rows_failed", Integer, nullable=False, server_default="0"),
    Column("error_report", String(500), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Index("ix_imports_ws_created", "workspace_id", "created_at"),
)

erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("identities_removed", Integer, nullable=False),
    Column("events_scrubbed", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)
