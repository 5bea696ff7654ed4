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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection

from siyu.db.types import to_millis
from siyu.segments import membership, scoring, store, tag_rules
from siyu.segments.membership import REALTIME_CURSOR
from siyu.segments.store import ENTERED, EXITED

REALTIME = REALTIME_CURSOR
REFRESH = "segments.refresh"
SCORES = "segments.scores"
BATCH = 5_000
T = TypeVar("T")


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


def _when_due(conn: Connection, workspace_id: int, name: str, now: datetime, every: timedelta,
              work: Callable[[], T]) -> T | None:
    """Run ``work`` at most once per ``every`` per workspace, whichever worker gets there: the cursor
    row is locked for the transaction and moved to ``now`` with the work's writes."""
    last = store.claim_cursor(conn, workspace_id, name, now)
    stamp = to_millis(now)
    if last and stamp - last < every.total_seconds() * 1000:
        return None
    result = work()
    store.advance_cursor(conn, workspace_id, name, stamp, now)
    return result


def refresh_if_due(conn: Connection, workspace_id: int, now: datetime, timezone: str,
                   every: timedelta) -> dict[int, tuple[int, int]] | None:
    """The scheduled refresh: auto-tag rules first (segments may test the tags they set), then segments."""
    def work() -> dict[int, tuple[int, int]]:
        tag_rules.apply_all(conn, workspace_id, now)
        return membership.refresh(conn, workspace_id, now, timezone)

    return _when_due(conn, workspace_id, REFRESH, now, every, work)


def scores_if_due(conn: Connection, workspace_id: int, now: datetime, settings: dict[str, Any],
                  every: timedelta) -> dict[str, Any] | None:
    """Nightly-style recomputation of RFM, lifecycle and KOC."""
    return _when_due(conn, workspace_id, SCORES, now, every,
                     lambda: scoring.compute_all(conn, workspace_id, now, settings))
