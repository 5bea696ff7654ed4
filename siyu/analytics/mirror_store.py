"""Every read of the operational store that the columnar mirror makes.

The mirror only reads: new events past its watermark, the ids that were still missing at the last
sync (see :mod:`siyu.analytics.mirror` for why ids can appear late on PostgreSQL), the profile
mapping (merges and erasures) and the profile-level tables it copies for segments. Rows are
streamed in bounded chunks so a rebuild over tens of millions of events keeps memory flat.

JSON columns are read as text (``CAST(... AS TEXT)``): the mirror stores ``properties`` as JSON
text, and parsing it once with orjson beats a round trip through the driver's JSON decoder and a
re-encode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Table,
    Text,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)

from siyu.db import driver
from siyu.db.tables import (
    consents,
    erasures,
    events,
    identities,
    loyalty_members,
    profile_merges,
    profile_scores,
    profile_tags,
    profiles,
    segment_members,
    tags,
    tiers,
)
from siyu.db.types import Timestamp

EVENT_CHUNK = 20_000
TABLE_CHUNK = 50_000


class EventRow(NamedTuple):
    id: int
    workspace_id: int
    profile_id: int | None
    type: str
    name: str
    timestamp: int
    received_at: int
    source: str
    anonymous_id: str | None
    user_id: str | None
    properties: str | None  # JSON text
    traits: str | None
    context: str | None


# Copied for segments; identities without their values (the mirror needs no personal identifiers).
SNAPSHOT_TABLES: dict[str, tuple[Table, tuple[str, ...] | None]] = {
    "profiles": (profiles, None),
    "profile_tags": (profile_tags, None),
    "tags": (tags, ("id", "workspace_id", "group_id", "name", "created_at")),  # names, for tag conditions
    "identities": (identities, ("workspace_id", "type", "profile_id", "first_seen_at", "last_seen_at", "source")),
    "consents": (consents, None),
    "profile_scores": (profile_scores, None),
    "segment_members": (segment_members, None),
    # loyalty conditions (tier, points balance, growth value): tier names become ranks before the SQL
    "loyalty_members": (loyalty_members, ("workspace_id", "profile_id", "tier_rank", "points_balance",
                                          "growth_value")),
    "tiers": (tiers, ("workspace_id", "rank", "name")),
}


def _event_columns() -> list[Any]:
    c = events.c
    return [
        _raw(column)
        for column in (
            c.id,
            c.workspace_id,
            c.profile_id,
            c.type,
            c.name,
            c.timestamp,
            c.received_at,
            c.source,
            c.anonymous_id,
            c.user_id,
            c.properties,
            c.traits,
            c.context,
        )
    ]


def _raw(column: Column[Any]) -> Any:
    """The stored value: Timestamps stay epoch milliseconds, JSON comes back as text."""
    if isinstance(column.type, Timestamp):
        return type_coerce(column, BigInteger).label(column.name)
    if is_json(column):
        return cast(column, Text).label(column.name)
    return column


def _by_id(workspace_id: int) -> Any:
    """The workspace filter written so that no index serves it, for queries that walk ``events.id``.

    Given ``workspace_id = ?`` the planners (SQLite's in particular) pick ``ix_events_time`` and
    sort the whole workspace to find the few rows past the watermark, on every sync. ``+ 0`` makes
    the term unindexable, so the id range is read from the primary key: linear in the new ids.
    """
    return events.c.workspace_id + literal_column("0") == workspace_id


def _event_rows(result: Any) -> list[EventRow]:
    return list(map(EventRow._make, result))


_EVENTS_AFTER = (
    "SELECT id, workspace_id, profile_id, type, name, timestamp, received_at, source, anonymous_id, user_id, "
    "CAST(properties AS TEXT), CAST(traits AS TEXT), CAST(context AS TEXT) FROM events "
    "WHERE workspace_id + 0 = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?"  # + 0: see _by_id
)


def highest_event_id(conn: Connection) -> int:
    """The highest event id committed in any workspace: the mirror's upper bound for one sync."""
    # tenancy: cross-workspace (ids are one global sequence; only the number is read, never a row)
    return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


def events_after(
    conn: Connection, workspace_id: int, after_id: int, upto_id: int, chunk: int = EVENT_CHUNK
) -> Iterator[list[EventRow]]:
    """The workspace's events with ``after_id < id <= upto_id`` in id order, ``chunk`` rows at a time."""
    cursor = after_id
    while cursor < upto_id:
        # Straight on the driver: SQLAlchemy's row-by-row fetch was a third of a sync's time (py-spy on
        # bench/bench_ingest.py, the worker's mirror thread), for values that need no processing.
        rows = _event_rows(driver.rows(conn, _EVENTS_AFTER, (workspace_id, cursor, upto_id, chunk)))
        if not rows:
            return
        yield rows
        cursor = rows[-1].id
        if len(rows) < chunk:
            return


def committed_ids_between(conn: Connection, after_id: int, upto_id: int) -> Iterator[list[int]]:
    """Every committed event id in ``(after_id, upto_id]``, whatever its workspace, in chunks.

    The complement is the set of ids allocated to transactions not yet committed (or rolled back):
    those are the only ids that can still appear below the watermark.
    """
    cursor = after_id
    while cursor < upto_id:
        # tenancy: cross-workspace (ids only: tells another workspace's rows from uncommitted ones)
        ids = list(
            conn.execute(
                select(events.c.id)
                .where(events.c.id > cursor, events.c.id <= upto_id)
                .order_by(events.c.id)
                .limit(TABLE_CHUNK)
            ).scalars()
        )
        if not ids:
            return
        yield ids
        cursor = ids[-1]


def _in_ranges(column: Column[Any], ranges: Sequence[tuple[int, int]]) -> Any:
    return or_(*[and_(column >= low, column <= high) for low, high in ranges])


def events_in_ranges(conn: Connection, workspace_id: int, ranges: Sequence[tuple[int, int]]) -> list[EventRow]:
    """The workspace's events whose ids fall in the given inclusive ranges (the pending gaps)."""
    if not ranges:
        return []
    return _event_rows(
        conn.execute(
            select(*_event_columns()).where(_by_id(workspace_id), _in_ranges(events.c.id, ranges)).order_by(events.c.id)
        )
    )


def committed_ids_in_ranges(conn: Connection, ranges: Sequence[tuple[int, int]]) -> list[int]:
    """Ids in the given ranges that are now committed in any workspace (so no longer pending)."""
    if not ranges:
        return []
    # tenancy: cross-workspace (ids only, see committed_ids_between)
    return list(conn.execute(select(events.c.id).where(_in_ranges(events.c.id, ranges))).scalars())


def identity_change_marks(conn: Connection, workspace_id: int) -> tuple[int, int]:
    """(last merge id, last erasure id) of the workspace: when neither moved, the profile mapping did not."""
    merge = conn.execute(
        select(func.coalesce(func.max(profile_merges.c.id), 0)).where(profile_merges.c.workspace_id == workspace_id)
    ).scalar_one()
    erasure = conn.execute(
        select(func.coalesce(func.max(erasures.c.id), 0)).where(erasures.c.workspace_id == workspace_id)
    ).scalar_one()
    return int(merge), int(erasure)


def merged_or_erased_profiles(conn: Connection, workspace_id: int) -> Iterator[list[tuple[int, int | None, bool]]]:
    """(id, merged_into, erased) of every profile merged away or erased, in chunks."""
    query = (
        select(profiles.c.id, profiles.c.merged_into, profiles.c.erased_at.is_not(None))
        .where(
            profiles.c.workspace_id == workspace_id,
            or_(profiles.c.merged_into.is_not(None), profiles.c.erased_at.is_not(None)),
        )
        .order_by(profiles.c.id)
    )
    result = conn.execution_options(yield_per=TABLE_CHUNK).execute(query)
    for partition in result.partitions():
        yield [(int(r[0]), None if r[1] is None else int(r[1]), bool(r[2])) for r in partition]


def table_rows(conn: Connection, workspace_id: int, name: str) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    """Column names and the workspace's rows (in chunks, raw storage values) of one snapshot table."""
    table, wanted = SNAPSHOT_TABLES[name]
    columns = [table.c[n] for n in (wanted or [c.name for c in table.columns])]
    query = select(*[_raw(c) for c in columns]).where(table.c.workspace_id == workspace_id)
    result = conn.execution_options(yield_per=TABLE_CHUNK).execute(query)

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        for partition in result.partitions():
            yield [tuple(r) for r in partition]

    return [c.name for c in columns], chunks()


def is_json(column: Column[Any]) -> bool:
    """JSON on every backend (``JSONType`` is JSON with a JSONB variant on PostgreSQL)."""
    affinity = column.type._type_affinity
    return affinity is not None and issubclass(affinity, JSON)


def pending_event_count(conn: Connection, workspace_id: int, after_id: int) -> int:
    """How many of the workspace's events are past the watermark (the mirror's lag in events)."""
    return int(
        conn.execute(
            select(func.count()).select_from(events).where(_by_id(workspace_id), events.c.id > after_id)
        ).scalar_one()
    )


def workspace_event_count(conn: Connection, workspace_id: int) -> int:
    return int(
        conn.execute(select(func.count()).select_from(events).where(events.c.workspace_id == workspace_id)).scalar_one()
    )


def event_table_bytes(conn: Connection) -> int | None:
    """On-disk size of the operational event table with its indexes (all workspaces), if measurable."""
    # tenancy: cross-workspace (a size of the whole table, read from the catalogue)
    if conn.dialect.name == "postgresql":
        return int(conn.execute(text("SELECT pg_total_relation_size('events')")).scalar_one())
    try:
        # dbstat lists every b-tree page; the table and its indexes are named after 'events'.
        names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE tbl_name = 'events'"))]
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        return int(
            conn.execute(
                text(f"SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ({marks})"),
                {f"n{i}": n for i, n in enumerate(names)},
            ).scalar_one()
        )
    except Exception:  # noqa: BLE001 - SQLite built without dbstat: the size is unknown, not an error
        return None


def all_event_count(conn: Connection) -> int:
    # tenancy: cross-workspace (to prorate the whole table's size to one workspace)
    return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
