"""An offer's figures for its page and API: claimed, redeemed, remaining, by status and per local day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from siyu.offers import store
from siyu.offers.models import Offer

EPOCH = date(1970, 1, 1)


def offer_figures(conn: Connection, workspace_id: int, offer: Offer, *, timezone: str, now: datetime) -> dict[str, Any]:
    """Days are the workspace's local days (its offset today: China has no daylight saving)."""
    offset = ZoneInfo(timezone).utcoffset(now.replace(tzinfo=None)) or timedelta(0)
    offset_ms = int(offset.total_seconds() * 1000)
    claimed = dict(store.per_day(conn, workspace_id, offer.id, offset_ms, "claimed_at"))
    redeemed = dict(store.per_day(conn, workspace_id, offer.id, offset_ms, "redeemed_at"))
    days = sorted(set(claimed) | set(redeemed))
    return {
        "stock": offer.stock, "claimed": offer.claimed, "redeemed": offer.redeemed, "remaining": offer.remaining,
        "by_status": store.claims_by_status(conn, workspace_id, offer.id),
        "per_day": [{"day": (EPOCH + timedelta(days=d)).isoformat(), "claimed": claimed.get(d, 0),
                     "redeemed": redeemed.get(d, 0)} for d in days],
        **store.pool_counts(conn, workspace_id, offer.id),
    }
