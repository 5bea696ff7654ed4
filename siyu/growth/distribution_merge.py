"""Distribution follows a profile merge: the person's promoter record, their link touches as a
visitor and the commissions on their orders become the survivor's.

Called from :func:`siyu.profiles.store.fold_profile` (through ``_fold_running_state``) inside the
merge's transaction; the promoter rows touched are locked (PostgreSQL) in id order, as
:func:`siyu.growth.distribution_store.lock_promoters` does for the commission worker.

Two promoter records for one person (each account was made a KOC, or a staff member's promoter was
tied to one account and a KOC record to the other) become one:

- **which is kept** (:func:`kept_promoter`): an active one over a disabled one, then a staff
  promoter over a KOC (staff distribution is organised around the staff member), then the older
  (its link has been out longest);
- the other's **commission ledger rows, payouts, link touches and recruits** move to the kept one
  (its earned, confirmed and paid amounts add up: no row is edited but for its promoter); the
  ledger's key (order, promoter, level, kind) cannot collide, as one order has one promoter per level;
- the other **record stays, disabled and detached from the profile** (``profile_id`` cleared: one
  promoter per profile), so its history and token still resolve; its link records no new touches;
- **two levels stay legal**: the kept promoter takes the other's parent when it had none, never
  itself; if it then has recruits of its own and a parent, the parent link is dropped (its recruits
  would otherwise be a third level — siyu.growth.distribution_rules.check_parent).

Touches where the merged person was the visitor, and commissions where they were the buyer, are
re-pointed to the survivor so the next order finds them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from siyu.db.tables import commission_payouts, commissions, promoter_touches, promoters

PR = promoters.c


def fold_promoters(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """Fold the merged-away person's distribution records into the survivor's (module docstring)."""
    conn.execute(update(promoter_touches).where(promoter_touches.c.workspace_id == workspace_id,
                                                promoter_touches.c.profile_id == from_id).values(profile_id=into_id))
    conn.execute(update(commissions).where(commissions.c.workspace_id == workspace_id,
                                           commissions.c.buyer_profile_id == from_id)
                 .values(buyer_profile_id=into_id, updated_at=at))
    query = select(promoters).where(PR.workspace_id == workspace_id, PR.profile_id.in_(sorted({from_id, into_id})))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = {int(r.profile_id): r for r in conn.execute(query.order_by(PR.id))}
    theirs, ours = rows.get(from_id), rows.get(into_id)
    if theirs is None:
        return
    if ours is None:
        conn.execute(update(promoters).where(PR.workspace_id == workspace_id, PR.id == theirs.id)
                     .values(profile_id=into_id, updated_at=at))
        return
    kept, dropped = kept_promoter(ours, theirs)
    _combine(conn, workspace_id, kept, dropped, into_id, at)


def kept_promoter(first: Any, second: Any) -> tuple[Any, Any]:
    """(kept, dropped): active over disabled, staff over KOC, older over newer (pure)."""
    ordered = sorted((first, second), key=lambda p: (p.status != "active", p.kind != "staff", int(p.id)))
    return ordered[0], ordered[1]


def _combine(conn: Connection, workspace_id: int, kept: Any, dropped: Any, into_id: int, at: datetime) -> None:
    for table in (commissions, commission_payouts, promoter_touches):
        values: dict[str, Any] = {"promoter_id": kept.id}
        if table is commissions:
            values["updated_at"] = at
        conn.execute(update(table).where(table.c.workspace_id == workspace_id, table.c.promoter_id == dropped.id)
                     .values(**values))
    conn.execute(update(promoters).where(PR.workspace_id == workspace_id, PR.parent_id == dropped.id,
                                         PR.id != kept.id).values(parent_id=kept.id, updated_at=at))
    conn.execute(update(promoters).where(PR.workspace_id == workspace_id, PR.id == dropped.id).values(
        profile_id=None, parent_id=None, status="disabled", updated_at=at))
    recruits = conn.execute(select(func.count()).select_from(promoters).where(
        PR.workspace_id == workspace_id, PR.parent_id == kept.id)).scalar_one()
    parent = kept.parent_id if kept.parent_id not in (None, dropped.id) else dropped.parent_id
    if parent == kept.id or recruits:
        parent = None
    conn.execute(update(promoters).where(PR.workspace_id == workspace_id, PR.id == kept.id).values(
        profile_id=into_id, parent_id=parent, updated_at=at))
