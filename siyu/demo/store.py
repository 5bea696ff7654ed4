"""What the demo generated, counted from the database (so the summary cannot drift from the data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from siyu.db.tables import events, identity_conflicts, profile_merges, profiles


def summary(conn: Connection, workspace_id: int) -> dict[str, Any]:
    live = profiles.c.merged_into.is_(None) & profiles.c.erased_at.is_(None)
    totals = conn.execute(select(func.count(), func.coalesce(func.sum(profiles.c.order_count), 0),
                                 func.coalesce(func.sum(profiles.c.total_spend), 0.0))
                          .where(profiles.c.workspace_id == workspace_id, live)).one()
    by_channel: dict[str | None, int] = dict(conn.execute(
        select(profiles.c.first_channel, func.count()).where(profiles.c.workspace_id == workspace_id, live)
        .group_by(profiles.c.first_channel)).all())
    return {
        "profiles": totals[0],
        "orders": int(totals[1]),
        "revenue": round(float(totals[2]), 2),
        "events": conn.execute(select(func.count()).select_from(events)
                               .where(events.c.workspace_id == workspace_id)).scalar_one(),
        "merges": conn.execute(select(func.count()).select_from(profile_merges)
                               .where(profile_merges.c.workspace_id == workspace_id)).scalar_one(),
        "conflicts": conn.execute(select(func.count()).select_from(identity_conflicts)
                                  .where(identity_conflicts.c.workspace_id == workspace_id)).scalar_one(),
        "by_channel": {k or "unknown": v for k, v in sorted(by_channel.items(), key=lambda kv: -kv[1])},
    }
