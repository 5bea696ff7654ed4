"""Loyalty follows a profile merge: two membership records of one person become one.

Called from :func:`siyu.profiles.store.fold_profile` (through ``_fold_running_state``) inside the
merge's transaction, which already holds the workspace's identity lock on PostgreSQL (and is the one
writer on SQLite); the two member rows are locked here besides, in profile order like
:func:`siyu.loyalty.store.lock_members`, so a points operation running on either person waits for the
merge instead of writing to a row about to disappear.

How the two records combine (the policy):

- **growth value** (this period's and the last closed period's) is added up: both accounts'
  spending and activity were the one person's;
- **the higher tier is kept**, with its ``tier_since`` and its pending downgrade, if any (when both
  held the same tier, a pending downgrade stays only if both had one — the later date); the combined
  growth may already reach a higher tier, which the next growth of the person applies as usual;
- **balances and debts are added**; the ledger entries, lots, tier history and daily-cap counters
  are re-pointed (the daily counters of one rule and day added up, so a cap counts both accounts),
  so the member's balance still equals the sum of their ledger and of their lots' remaining points;
- the activity day and the monthly-benefit month take the later value, so a merge does not hand
  the person a second monthly benefit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import loyalty_members, points_daily, points_entries, points_lots, tier_changes

M, D = loyalty_members.c, points_daily.c


def fold_loyalty(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """Fold the merged-away person's membership, ledger, lots, tier history and cap counters into the
    survivor's (see the module docstring for how the two records combine)."""
    rows = _locked_members(conn, workspace_id, [from_id, into_id])
    for table in (points_entries, points_lots, tier_changes):
        conn.execute(update(table).where(table.c.workspace_id == workspace_id, table.c.profile_id == from_id)
                     .values(profile_id=into_id))
    _fold_daily(conn, workspace_id, from_id, into_id)
    theirs, ours = rows.get(from_id), rows.get(into_id)
    if theirs is None:
        return
    if ours is None:  # only the merged-away account was a member: the record simply changes hands
        conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == from_id)
                     .values(profile_id=into_id, updated_at=at))
        return
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == into_id)
                 .values(updated_at=at, **combined(ours, theirs)))
    conn.execute(delete(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == from_id))


def combined(ours: Any, theirs: Any) -> dict[str, Any]:
    """The survivor's member values after the merge (pure: two rows in, new values out)."""
    if theirs.tier_rank > ours.tier_rank:
        kept = theirs
        downgrade = (theirs.downgrade_to, theirs.downgrade_at)
    elif ours.tier_rank > theirs.tier_rank:
        kept = ours
        downgrade = (ours.downgrade_to, ours.downgrade_at)
    else:
        kept = ours if ours.tier_since <= theirs.tier_since else theirs
        both_pending = ours.downgrade_at is not None and theirs.downgrade_at is not None
        later = max((ours, theirs), key=lambda r: r.downgrade_at) if both_pending else None
        downgrade = (later.downgrade_to, later.downgrade_at) if later is not None else (None, None)
    return {
        "growth_value": int(ours.growth_value) + int(theirs.growth_value),
        "previous_growth": int(ours.previous_growth) + int(theirs.previous_growth),
        "tier_rank": kept.tier_rank, "tier_since": kept.tier_since,
        "downgrade_to": downgrade[0], "downgrade_at": downgrade[1],
        "points_balance": int(ours.points_balance) + int(theirs.points_balance),
        "points_debt": int(ours.points_debt) + int(theirs.points_debt),
        "last_active_day": _later(ours.last_active_day, theirs.last_active_day),
        "monthly_granted": _later(ours.monthly_granted, theirs.monthly_granted),
        "created_at": min(ours.created_at, theirs.created_at),
    }


def _later(first: int | None, second: int | None) -> int | None:
    known = [value for value in (first, second) if value is not None]
    return max(known) if known else None


def _locked_members(conn: Connection, workspace_id: int, profile_ids: list[int]) -> dict[int, Any]:
    query = (select(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id.in_(sorted(profile_ids)))
             .order_by(M.profile_id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {int(row.profile_id): row for row in conn.execute(query)}


def _fold_daily(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    """Each (rule, day) counter of the merged-away person added to the survivor's, up to the rule's
    cap: a counter above its cap would make the next guarded increment grant a negative amount
    (:func:`siyu.loyalty.points_store.add_daily` computes ``min(earned + points, cap) - earned``)."""
    theirs = conn.execute(select(D.rule, D.day, D.earned, D.last_grant).where(
        D.workspace_id == workspace_id, D.profile_id == from_id)).all()
    if not theirs:
        return
    ours = {(row.rule, row.day): int(row.earned) for row in conn.execute(select(D.rule, D.day, D.earned).where(
        D.workspace_id == workspace_id, D.profile_id == into_id))}
    caps = daily_caps(conn, workspace_id)
    totals = [{"workspace_id": workspace_id, "profile_id": into_id, "rule": row.rule, "day": row.day,
               "earned": capped(ours.get((row.rule, row.day), 0) + int(row.earned), caps.get(row.rule)),
               "last_grant": row.last_grant} for row in theirs]
    statement = upsert(conn, points_daily)
    conn.execute(statement.on_conflict_do_update(index_elements=["workspace_id", "profile_id", "rule", "day"],
                                                 set_={"earned": statement.excluded.earned}), totals)
    conn.execute(delete(points_daily).where(D.workspace_id == workspace_id, D.profile_id == from_id))


def capped(total: int, cap: int | None) -> int:
    return total if cap is None else min(total, cap)


def daily_caps(conn: Connection, workspace_id: int) -> dict[str, int]:
    """The programme's daily caps by counter name (``order``, ``event:<name>``, ``task:<task>``: the
    names :mod:`siyu.loyalty.earning` counts under)."""
    from siyu.loyalty.errors import ProgrammeMissing
    from siyu.loyalty.store import get_programme

    try:
        programme, _, _ = get_programme(conn, workspace_id)
    except ProgrammeMissing:
        return {}
    earning = programme.earning
    caps = {f"event:{rule.event}"[:100]: rule.daily_cap for rule in earning.events}
    caps.update({f"task:{rule.task}": rule.daily_cap for rule in earning.tasks})
    caps["order"] = earning.order_daily_cap
    return {name: cap for name, cap in caps.items() if cap is not None}
