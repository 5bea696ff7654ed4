"""Channel spend (``channel_spend``, in the operational store): entered by hand, read by the channel report.

One row per (workspace, channel, month); entering a month again replaces its amount — an upsert on
the primary key, so two people saving the same month at once leave one row, the last one's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from siyu.analytics.reports.models import SpendEntry
from siyu.db.dialect import upsert
from siyu.db.tables import channel_spend

CURRENCY = "CNY"


def set_channel_spend(conn: Connection, workspace_id: int, entry: SpendEntry, now: datetime) -> dict[str, Any]:
    statement = upsert(conn, channel_spend).values(
        workspace_id=workspace_id,
        channel=entry.channel,
        month=entry.month,
        amount=entry.amount,
        currency=CURRENCY,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "channel", "month"],
        set_={"amount": statement.excluded.amount, "updated_at": statement.excluded.updated_at},
    )
    conn.execute(statement)
    return {
        "channel": entry.channel,
        "month": entry.month,
        "amount": entry.amount,
        "currency": CURRENCY,
        "updated_at": now.isoformat(),
    }


def list_channel_spend(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            channel_spend.c.channel,
            channel_spend.c.month,
            channel_spend.c.amount,
            channel_spend.c.currency,
            channel_spend.c.updated_at,
        )
        .where(channel_spend.c.workspace_id == workspace_id)
        .order_by(channel_spend.c.month.desc(), channel_spend.c.channel)
    )
    return [{**row._mapping, "updated_at": row.updated_at.isoformat()} for row in rows]


def delete_channel_spend(conn: Connection, workspace_id: int, channel: str, month: str) -> bool:
    """Remove one month's spend for a channel; False when there was none (deleting twice is harmless)."""
    removed = conn.execute(
        delete(channel_spend).where(
            channel_spend.c.workspace_id == workspace_id,
            channel_spend.c.channel == channel,
            channel_spend.c.month == month,
        )
    )
    return removed.rowcount > 0


def spend_by_channel(conn: Connection, workspace_id: int, months: list[str]) -> dict[str, float]:
    """Total spend per channel over the given ``YYYY-MM`` months."""
    rows = conn.execute(
        select(channel_spend.c.channel, func.sum(channel_spend.c.amount))
        .where(channel_spend.c.workspace_id == workspace_id, channel_spend.c.month.in_(months))
        .group_by(channel_spend.c.channel)
    )
    return {channel: round(float(amount), 2) for channel, amount in rows}
