"""SQL of the event log and its deduplication keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete

from siyu.db.dialect import upsert
from siyu.db.tables import event_dedupe, events


def claim_message_ids(conn: Connection, workspace_id: int, message_ids: Sequence[str],
                      expires_at: datetime | None, forever: Sequence[bool] | None = None) -> set[str]:
    """Insert dedupe keys; return the ids that were new (the rest were seen inside the window).

    Idempotency by a unique key, not by checking first: ``INSERT … ON CONFLICT DO NOTHING
    RETURNING`` tells in one statement which messages this transaction owns, even when a client's
    retry races its own first attempt through another process.
    """
    if not message_ids:
        return set()
    insert = upsert(conn, event_dedupe)
    rows = [
        {"workspace_id": workspace_id, "message_id": m,
         "expires_at": None if (forever and forever[i]) else expires_at}
        for i, m in enumerate(message_ids)
    ]
    result = conn.execute(insert.on_conflict_do_nothing().returning(event_dedupe.c.message_id), rows)
    return {r[0] for r in result}


def append_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(events.insert(), rows)


def prune_dedupe_keys(conn: Connection, workspace_id: int, now: datetime) -> int:
    result = conn.execute(delete(event_dedupe).where(event_dedupe.c.workspace_id == workspace_id,
                                                     event_dedupe.c.expires_at.is_not(None),
                                                     event_dedupe.c.expires_at < now))
    return result.rowcount
