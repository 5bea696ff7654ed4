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
from siyu.segments import membership, realtime_store, scoring, store, tag_rules
from siyu.segments.facets import EVERYTHING, Change, LogEntry, change_of
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
    """Re-evaluate the people behind the next ``limit`` entries of the log, once each, in the segments
    their entries can change (see :mod:`siyu.segments.facets` for which those are)."""
    position = store.claim_cursor(conn, workspace_id, REALTIME, now)
    entries = realtime_store.log_entries_after(conn, workspace_id, position, limit)
    if not entries:
        return Progress(0, 0, {}, position)
    theirs = [e for e in entries if e.profile_id is not None and e.name not in (ENTERED, EXITED)]
    changes = changes_since(conn, workspace_id, theirs, position)
    moved = membership.evaluate_changes(conn, workspace_id, changes, now, timezone)
    people = sorted({e.profile_id for e in theirs if e.profile_id is not None})
    names = {e.name for e in entries} - {ENTERED, EXITED}
    tag_rules.apply_all(conn, workspace_id, now, people, names)  # their tag events are picked up next
    last = entries[-1].id
    store.advance_cursor(conn, workspace_id, REALTIME, last, now)
    return Progress(len(entries), len(people), moved, last)


def changes_since(conn: Connection, workspace_id: int, entries: list[LogEntry], position: int) -> dict[int, Change]:
    """What may have changed about each person behind ``entries`` (the log past ``position``).

    The entries say most of it; two things they do not say are read from the database: people new
    to the log past ``position`` (never evaluated, so every segment may take them) and merges
    these entries caused (the survivor gained another person's events, tags, consent and ids;
    the merged-away id must leave every segment). Segments' own Entered / Exited entries are left
    out by the caller: dependants are re-evaluated in the pass that moved them.
    """
    changes: dict[int, Change] = {}
    for entry in entries:
        assert entry.profile_id is not None
        changes[entry.profile_id] = changes.get(entry.profile_id, Change()) | change_of(entry)
    people = sorted(changes)
    if not people:
        return changes
    for person in set(people) - realtime_store.people_seen_before(conn, workspace_id, people, position):
        changes[person] = EVERYTHING
    survivors, merged_away = realtime_store.merges_caused_by(conn, workspace_id, people,
                                                             {e.message_id for e in entries})
    for person in survivors | merged_away:
        changes[person] = EVERYTHING
    return changes


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
