"""All SQL of the campaign page's actions (:mod:`siyu.growth.landing_actions`): a press is written
before it acts, unique on its idempotency key, and answered from its row when it comes again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import campaign_landing_actions


def start_action(conn: Connection, workspace_id: int, *, key: str, campaign_id: int, profile_id: int, action: str,
                 now: datetime) -> tuple[int, dict[str, Any] | None]:
    """(row id, the first answer): the answer is None when this call wrote the row and is to act.
    ``INSERT … ON CONFLICT DO NOTHING``: of two presses with one key (two tabs, a resend) the second
    waits for the first's transaction on PostgreSQL and then reads its answer."""
    inserted = conn.execute(upsert(conn, campaign_landing_actions).values(
        workspace_id=workspace_id, idempotency_key=key, campaign_id=campaign_id, profile_id=profile_id,
        action=action, created_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(campaign_landing_actions.c.id)).first()
    if inserted is not None:
        return int(inserted[0]), None
    row = conn.execute(select(campaign_landing_actions.c.id, campaign_landing_actions.c.result).where(
        campaign_landing_actions.c.workspace_id == workspace_id,
        campaign_landing_actions.c.idempotency_key == key)).one()
    return int(row.id), dict(row.result or {"ok": False, "code": "in_progress"})


def finish_action(conn: Connection, workspace_id: int, action_id: int, result: dict[str, Any]) -> None:
    conn.execute(update(campaign_landing_actions).where(
        campaign_landing_actions.c.workspace_id == workspace_id, campaign_landing_actions.c.id == action_id,
    ).values(result=result))


def count_actions(conn: Connection, workspace_id: int, campaign_id: int) -> int:
    """Presses recorded for a campaign (tests and the dashboard's curiosity)."""
    return len(conn.execute(select(campaign_landing_actions.c.id).where(
        campaign_landing_actions.c.workspace_id == workspace_id,
        campaign_landing_actions.c.campaign_id == campaign_id)).all())
