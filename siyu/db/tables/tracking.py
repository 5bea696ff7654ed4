"""Tables: tracked links and delivery receipts (issue 4)."""

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
    UniqueConstraint,
)

from siyu.db.tables.base import metadata
from siyu.db.tables.messaging import messages
from siyu.db.types import Timestamp

# --- tracked links and delivery receipts (issue 4) -------------------------------------------------

# Tracked links (``/r/<token>``) and e-mail open pixels (``/o/<token>.gif``), made when a message is
# handed to its channel. One row per (message, url) — ``url_key`` is the URL's SHA-256, or "open" for
# the pixel — so a retried send finds the tokens it made the first time. The token alone is the
# address (people click it without any workspace in the URL); ``hits`` and ``last_hit_at`` count
# clicks and opens, and let a double fetch within a few seconds count once.
message_links = Table(
    "message_links",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),  # LinkKind: link | open
    Column("url", Text, nullable=True),  # the original URL; NULL for the open pixel
    Column("url_key", String(64), nullable=False),
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("last_hit_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "message_id", "url_key"),
)

# What came back about a sent message: the first delivery receipt, open and click. A row of its own
# instead of columns on ``messages``, so the outbox's hot table is not rewritten to add them and
# receipts that arrive late never contend with the delivery worker's updates.
message_receipts = Table(
    "message_receipts",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Column("opened_at", Timestamp, nullable=True),
    Column("clicked_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "message_id"),
)

# Receipts name the provider's id (WeChat MsgID, Aliyun BizId): found through this index. Partial:
# rows without one (everything queued or stopped, e.g. a broadcast's million) are not in it, and a
# lookup by ``provider_id = ?`` implies ``IS NOT NULL`` on both databases (migration 0015).
Index("ix_messages_provider", messages.c.workspace_id, messages.c.provider_id,
      sqlite_where=messages.c.provider_id.is_not(None), postgresql_where=messages.c.provider_id.is_not(None))
