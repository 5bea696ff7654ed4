"""Tables: messaging."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- messaging -----------------------------------------------------------------------------------

# The outbox: every send decision is a row before anything is sent. One row per idempotency key
# (source, step, person; or the caller's key), so a retried request or a re-run journey step can
# never queue a message twice; the delivery worker claims due rows and records what became of each.
messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("source", String(64), nullable=False),  # api | journey:<id> | broadcast:<id> | ...
    Column("idempotency_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(64), nullable=True),  # why stopped, deferred or failed (stable code)
    Column("detail", String(500), nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("payload", JSONType, nullable=False),
    Column("due_at", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", Timestamp, nullable=True),
    Column("provider_id", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("sent_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_messages_key"),
    Index("ix_messages_due", "status", "due_at"),
    Index("ix_messages_profile", "workspace_id", "profile_id", "created_at"),
    Index("ix_messages_source", "workspace_id", "source", "status"),  # a broadcast's or journey's figures
)

# A one-off send to a segment (群发). The worker fans it out into outbox rows in chunks, keyed
# ``broadcast:<id>:<profile>`` so a crash mid fan-out repeats nothing; ``fanout_after`` is the last
# profile queued, moved in the same transaction as the rows it covers.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("content", JSONType, nullable=False),
    Column("status", String(16), nullable=False),  # scheduled | sending | done | cancelled
    Column("send_at", Timestamp, nullable=False),
    Column("rate_per_minute", Integer, nullable=True),  # throttle: messages per minute, None = as fast as allowed
    Column("fanout_after", BigInteger, nullable=False, server_default="0"),
    Column("queued", Integer, nullable=False, server_default="0"),
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    # the conversion event and its window ({"event", "where"?, "within"}); None: no goal measured
    Column("goal", JSONType, nullable=True),
    Column("holdout_percent", Float, nullable=False, server_default="0"),  # control group, kept back
    Index("ix_broadcasts_due", "status", "send_at"),
    Index("ix_broadcasts_ws_created", "workspace_id", "created_at"),
)
