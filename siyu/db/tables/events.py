"""Tables: the event log."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- the event log ---------------------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=True),
    Column("message_id", String(128), nullable=False),
    Column("type", String(16), nullable=False),  # track | identify | page | screen | alias | group
    Column("name", String(200), nullable=False),  # the track event name, else the type
    Column("anonymous_id", String(200), nullable=True),
    Column("user_id", String(200), nullable=True),
    Column("timestamp", Timestamp, nullable=False),  # event time, clock-skew corrected
    Column("sent_at", Timestamp, nullable=True),
    Column("received_at", Timestamp, nullable=False),
    Column("source", String(64), nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("traits", JSONType, nullable=True),
    Column("context", JSONType, nullable=True),
    Index("ix_events_profile_time", "workspace_id", "profile_id", "timestamp"),
    Index("ix_events_time", "workspace_id", "timestamp"),
    Index("ix_events_name_time", "workspace_id", "name", "timestamp"),
    # No index on message_id: deduplication lives in event_dedupe (bounded by its window), and a
    # random-key index over the whole log is what makes inserts slow down as history grows.
)

# Deduplication keys, bounded by a time window instead of a unique index over the whole log:
# a random-key index grows with history and slows every insert (see shared/MEASURED.md), while
# this table holds only the window (Segment keeps ~24 h, RudderStack 7 days; we default to 7).
# Rows with expires_at NULL are kept for ever: imports use them so re-importing a file a year
# later still changes nothing.
event_dedupe = Table(
    "event_dedupe",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("event_id", BigInteger, nullable=True),
    Column("expires_at", Timestamp, nullable=True, index=True),
    PrimaryKeyConstraint("workspace_id", "message_id"),
)

# Acknowledged events waiting for identity resolution (``ingest.resolve = deferred``): the HTTP
# server claims the messageIds and appends here in the request's transaction, then answers; the
# worker's resolver takes rows in id order, resolves them into ``events`` and deletes them in one
# transaction, so an acknowledged event is never lost and never stored twice. ``message`` is the
# parsed message with its identifiers, as compact JSON (siyu.ingest.queue).
ingest_queue = Table(
    "ingest_queue",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_ingest_queue_workspace", "workspace_id", "id"),
)
