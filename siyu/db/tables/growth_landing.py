"""Tables: the actions visitors take on a campaign's own page (issue 6, the H5 page inside WeChat)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# One row per button press, unique on the form's idempotency key: written before the action runs
# and holding its answer after, in the action's own transaction — a retried POST (a double tap, a
# flaky mobile network resending) finds the row and shows the first answer, doing nothing twice.
campaign_landing_actions = Table(
    "campaign_landing_actions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("action", String(32), nullable=False),
    Column("result", JSONType, nullable=True),  # {"ok", "code", "details"}: what the page shows
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_campaign_landing_actions_key"),
)
