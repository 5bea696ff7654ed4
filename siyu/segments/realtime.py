"""Real-time and scheduled evaluation, driven by the event log.

The worker tails the log past a per-workspace cursor instead of hooking into the ingest
transaction, so ingest latency does not grow with the number of segments, and a crash costs
nothing: the membership changes, their Segment Entered / Exited events and the cursor move are
one transaction. Ordering argument: on PostgreSQL every transaction that appends events for a
workspace holds that workspace's advisory lock (siyu.identity.store), so event ids of one
workspace become visible in id order and a cursor on ids skips nothing; on SQLite there is one
writer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from siyu.segments import membership, store, tag_rules
from siyu.segments.membership import REALTIME_CURSOR
from siyu.segments.store import ENTERED, EXITED

REALTIME = REALTIME_CURSOR
REFRESH = "segments.refresh"
BATCH = 5_000


@dataclass(frozen=True)
class Progress:
    events: int
    profiles: int
    changes: dict[int, tuple[int, int]]
    position: int


def process_new_events(conn: Connection, workspace_id: int, now: datetime, timezone: str,
                       limit: int = BATCH) -> Progress:
    """Re-evaluate the people behind the next ``limit`` events of the log, once each."""
    position = store.claim_cursor(conn, workspace_id, REALTIME, now)
    rows = store.events_after(conn, workspace_id, position, limit)
    if not rows:
        return Progress(0, 0, {}, position)
    people = {pid for _, pid, name in rows if pid is not None and name not in (ENTERED, EXITED)}
    names = {name for _, _, name in rows} - {ENTERED, EXITED}
    changes = membership.evaluate_profiles(conn, workspace_id, sorted(people), names, now, timezone)
    tag_rules.apply_all(conn, workspace_id, now, sorted(people), names)  # their tag events are picked up next
    last = rows[-1][0]
    store.advance_cursor(conn, workspace_id, REALTIME, last, now)
    return Progress(len(rows), len(people), changes, last)


def refresh_if_due(conn: Connection, workspace_id: int, now: datetime, timezone: str,
                   every: timedelta) -> dict[int, tuple[int, int]] | None:
    """The scheduled refresh: at most once per ``every`` per workspace, whichever worker gets there."""
    last = store.claim_cursor(conn, workspace_id, REFRESH, now)
    stamp = int(now.timestamp() * 1000)
    if last and stamp - last < every.total_seconds() * 1000:
        return None
    tag_rules.apply_all(conn, workspace_id, now)  # first: segments may test the tags rules set
    changes = membership.refresh(conn, workspace_id, now, timezone)
    store.advance_cursor(conn, workspace_id, REFRESH, stamp, now)
    return changes


SCORES = "segments.scores"


def scores_if_due(conn: Connection, workspace_id: int, now: datetime, settings: dict, every: timedelta) -> dict | None:
    """Nightly-style recomputation of RFM, lifecycle and KOC, at most once per ``every``."""
    from siyu.segments import scoring

    last = store.claim_cursor(conn, workspace_id, SCORES, now)
    stamp = int(now.timestamp() * 1000)
    if last and stamp - last < every.total_seconds() * 1000:
        return None
    summary = scoring.compute_all(conn, workspace_id, now, settings)
    store.advance_cursor(conn, workspace_id, SCORES, stamp, now)
    return summary
