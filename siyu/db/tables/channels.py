"""Tables: WeCom and subscribe-message channel state (issue 4)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import Timestamp

# --- WeCom and subscribe-message channel state (issue 4) ----------------------------------------

# One-time subscriptions to WeChat subscription notices (一次性订阅): each acceptance lets one
# notice of that template reach the person. A send decision takes the oldest grant not held by a
# message that reached them (``used_by_message``), in the claim transaction, under the person's
# lock; ``idempotency_key`` dedupes a repeated acceptance (a callback WeChat delivered twice).
subscribe_grants = Table(
    "subscribe_grants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("template_id", String(128), nullable=False),
    Column("granted_at", Timestamp, nullable=False),
    Column("used_by_message", BigInteger, nullable=True),
    Column("source", String(64), nullable=False),  # api | callback | ...
    Column("idempotency_key", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_subscribe_grants_key"),
    Index("ix_subscribe_grants_person", "workspace_id", "profile_id", "template_id"),
)
