"""SQL of the set-based path (:mod:`siyu.identity.bulk`) that the capabilities' stores do not have.

Everything else the bulk path writes goes through the owning store's own functions (links and
merges through :mod:`siyu.identity.store`, events and dedupe keys through :mod:`siyu.ingest.store`,
new profiles and counts through :mod:`siyu.profiles.store`), so the two paths cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from siyu.db import driver
from siyu.db.types import to_millis
from siyu.ingest import store as ingest_store
from siyu.profiles.rollups import Rollup
from siyu.profiles.store import _ROLLUP_DELTA_SQL, add_rollup_deltas

Traits = tuple[dict[str, Any], dict[str, Any]]


def claim_message_ids(conn: Connection, workspace_id: int, forever: dict[str, bool],
                      expires_at: datetime | None) -> set[str]:
    """:func:`siyu.ingest.store.claim_message_ids` for a chunk, in key order: tens of thousands of
    random ids inserted sorted touch each page of the dedupe index once, not once per id."""
    ids = sorted(forever)
    return ingest_store.claim_message_ids(conn, workspace_id, ids, expires_at, [forever[m] for m in ids])


def load_traits(conn: Connection, workspace_id: int, profile_ids: list[int]) -> dict[int, Traits]:
    """:func:`siyu.profiles.store.load_traits`, written so that the planner looks profiles up by id.

    SQLite plans ``workspace_id = ? AND id IN (400 ids)`` as a scan of the workspace's entries in
    ``ix_profiles_ws_last_seen`` (a covering index on ``workspace_id``), checking each id against the
    list: the cost grows with the workspace (measured on 95k profiles: 85 µs per profile read, 1.5 s
    per 20k; by primary key 3 µs). The unary ``+`` keeps ``workspace_id`` out of index selection, so
    every id is a primary-key lookup and the workspace is still checked on each row. PostgreSQL
    takes the ids as one array, as :func:`siyu.identity.store.load_owners` does.
    """
    found: dict[int, Traits] = {}
    ids = sorted(set(profile_ids))
    postgres = conn.dialect.name == "postgresql"
    for start in range(0, len(ids), 5000 if postgres else 400):
        chunk = ids[start:start + (5000 if postgres else 400)]
        if postgres:
            rows = driver.rows(conn, "SELECT p.id, p.traits, p.trait_meta FROM unnest(?::bigint[]) AS wanted(id) "
                               "JOIN profiles p ON p.id = wanted.id AND p.workspace_id = ?", (chunk, workspace_id))
        else:
            rows = driver.rows(conn, f"SELECT id, traits, trait_meta FROM profiles WHERE id IN "
                               f"({driver.marks(len(chunk))}) AND +workspace_id = ?", (*chunk, workspace_id))
        for profile_id, traits, meta in rows:
            found[profile_id] = (_loads(traits), _loads(meta))
    return found


def _loads(value: Any) -> dict[str, Any]:
    """A JSON column as the driver returns it: text on SQLite, already decoded on PostgreSQL."""
    if value is None:
        return {}
    return dict(orjson.loads(value)) if isinstance(value, str | bytes) else dict(value)


def _update_sql(conn: Connection) -> str:
    """The pipeline's rollup delta statement (:data:`siyu.profiles.store._ROLLUP_DELTA_SQL`, the
    very text, so that both paths fold rollups alike) with the traits assigned by the same UPDATE."""
    json = "CAST(:traits AS JSONB)" if conn.dialect.name == "postgresql" else ":traits"
    meta = "CAST(:trait_meta AS JSONB)" if conn.dialect.name == "postgresql" else ":trait_meta"
    head = "UPDATE profiles SET"
    text = _ROLLUP_DELTA_SQL.text
    assert head in text, "siyu.profiles.store._ROLLUP_DELTA_SQL changed shape; update siyu.identity.bulk_store"
    return text.replace(head, f"{head}\n  traits = {json}, trait_meta = {meta},", 1)


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_millis(value)


def _dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def update_stored_profiles(conn: Connection, workspace_id: int, rollups: dict[int, Rollup], traits: dict[int, Traits],
                           at: datetime) -> None:
    """Fold a chunk into stored profiles with one statement per profile, in id order.

    Rollups are added in SQL, as :func:`siyu.profiles.store.add_rollup_deltas` does (sums add,
    first/last take the min/max), so a writer that does not hold the graph lock cannot lose an
    increment; the traits were read under the lock and are written back whole, as
    :func:`siyu.profiles.store.save_traits` does. Profiles with traits but no rollup (cannot happen
    from events, every event counts) would still get their traits.
    """
    now = to_millis(at)
    with_traits: list[dict[str, Any]] = []
    without: dict[int, Rollup] = {}
    for profile_id in sorted(rollups.keys() | traits.keys()):
        delta = rollups.get(profile_id) or Rollup()
        if profile_id not in traits:
            without[profile_id] = delta
            continue
        values, meta = traits[profile_id]
        with_traits.append({
            "ws": workspace_id, "id": profile_id, "now": now, "traits": _dumps(values), "trait_meta": _dumps(meta),
            "event_count": delta.event_count, "order_count": delta.order_count, "total_spend": delta.total_spend,
            "first_channel": delta.first_channel, "last_channel": delta.last_channel,
            "first_seen_at": _ms(delta.first_seen_at), "last_seen_at": _ms(delta.last_seen_at),
            "first_order_at": _ms(delta.first_order_at), "last_order_at": _ms(delta.last_order_at)})
    driver.execute_many_named(conn, _update_sql(conn), with_traits)
    add_rollup_deltas(conn, workspace_id, without, at)
