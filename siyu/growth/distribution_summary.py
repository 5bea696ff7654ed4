"""What the API, the CLI and the console show about promoters: each with their links, touches,
orders and commission by status, read in a few batched queries; and the ledger as an export file."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from siyu.growth import distribution_store as store
from siyu.growth.distribution_export import ExportFormat, export, period, rows
from siyu.growth.distribution_models import CommissionStatus, Promoter

EMPTY = {s.value: 0 for s in CommissionStatus} | {"orders": 0}


def links(promoter: Promoter, public_url: str) -> dict[str, str]:
    base = f"{public_url}/p/{promoter.token}"
    return {"link_url": base, "page_url": f"{base}/page", "qr_url": f"{base}/qr.png"}


def summaries(conn: Connection, workspace_id: int, found: list[Promoter], public_url: str) -> list[dict[str, Any]]:
    ids = [p.id for p in found]
    touches = store.touch_counts(conn, workspace_id, ids)
    sums = store.balances(conn, workspace_id)
    return [{**p.to_dict(), **links(p, public_url), "touches": touches.get(p.id, 0),
             "balances": dict(sums.get(p.id, EMPTY))} for p in found]


def summary(conn: Connection, workspace_id: int, promoter_id: int, public_url: str) -> dict[str, Any]:
    return summaries(conn, workspace_id, [store.get_promoter(conn, workspace_id, promoter_id)], public_url)[0]


def ledger_file(conn: Connection, workspace_id: int, fmt: ExportFormat, *, timezone: str,
                promoter_id: int | None = None, since: date | None = None, until: date | None = None) -> bytes:
    """The ledger rows written in the period (local days, both ends included), of one promoter or all."""
    start, end = period(since, until, timezone)
    if promoter_id is not None:
        store.get_promoter(conn, workspace_id, promoter_id)
    entries = list(reversed(store.list_commissions(conn, workspace_id, promoter_id=promoter_id, since=start,
                                                   until=end, limit=None)))
    names = {p.id: p.name for p in store.list_promoters(conn, workspace_id, limit=100_000)}
    return export(rows(entries, names, timezone), fmt)
