"""SQL of the set-based import path (:mod:`siyu.imports.bulk`): a chunk's profiles written once each.

Times arrive as epoch milliseconds (:mod:`siyu.profiles.bulk`), the form the columns store, so the
parameters are the values as they are. The statements are the capabilities' own: new profiles
through :func:`siyu.profiles.store.save_states` (its insert passes milliseconds through), stored
ones through the rollup-delta statement of :mod:`siyu.profiles.store` with the traits assigned in the
same ``UPDATE`` (:func:`siyu.identity.bulk_store._update_sql`), counts through its upsert. So both
import paths and the pipeline fold alike; only the parameter building is here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.db import driver
from siyu.db.types import to_millis
from siyu.identity.bulk_store import _dumps, _update_sql, load_traits
from siyu.profiles import store as profile_store
from siyu.profiles.bulk import fold_traits
from siyu.profiles.rollups import Rollup
from siyu.profiles.store import _EVENT_COUNTS_SQL, _ROLLUP_DELTA_SQL, ProfileState

Traits = tuple[dict[str, Any], dict[str, Any]]
TraitUpdates = dict[int, list[tuple[dict[str, Any], str, str]]]


def write_profiles(conn: Connection, workspace_id: int, rollups: dict[int, Rollup], trait_updates: TraitUpdates,
                   counts: dict[tuple[int, str], list[int]], created: set[int], at: datetime) -> None:
    """New profiles inserted whole; each stored one updated by one statement (traits read under the
    graph lock and written back whole, rollups added in SQL so no increment is lost); counts upserted."""
    stored_ids = [p for p in trait_updates if p not in created]
    stored = load_traits(conn, workspace_id, stored_ids)
    traits = {p: fold_traits(stored.get(p, ({}, {})), updates) for p, updates in trait_updates.items()}
    now = to_millis(at)
    profile_store.save_states(conn, workspace_id, [
        ProfileState(id=p, traits=traits.get(p, ({}, {}))[0], trait_meta=traits.get(p, ({}, {}))[1],
                     rollup=rollups.get(p) or Rollup(), created_at=at, is_new=True) for p in sorted(created)], at)
    with_traits: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    for profile_id in sorted((rollups.keys() | traits.keys()) - created):
        params = _delta(workspace_id, profile_id, rollups.get(profile_id) or Rollup(), now)
        if profile_id in traits:
            values, meta = traits[profile_id]
            params["traits"], params["trait_meta"] = _dumps(values), _dumps(meta)
            with_traits.append(params)
        else:
            without.append(params)
    driver.execute_many_named(conn, _update_sql(conn), with_traits)
    driver.execute_many_named(conn, _ROLLUP_DELTA_SQL.text, without)
    driver.execute_many_named(conn, _EVENT_COUNTS_SQL.text, [
        {"ws": workspace_id, "pid": pid, "name": name, "count": c, "first_at": first, "last_at": last}
        for (pid, name), (c, first, last) in sorted(counts.items())])


def _delta(workspace_id: int, profile_id: int, delta: Rollup, now: int) -> dict[str, Any]:
    """The parameters of :data:`siyu.profiles.store._ROLLUP_DELTA_SQL` for a rollup in milliseconds."""
    return {"ws": workspace_id, "id": profile_id, "now": now, "event_count": delta.event_count,
            "order_count": delta.order_count, "total_spend": delta.total_spend,
            "first_channel": delta.first_channel, "last_channel": delta.last_channel,
            "first_seen_at": delta.first_seen_at, "last_seen_at": delta.last_seen_at,
            "first_order_at": delta.first_order_at, "last_order_at": delta.last_order_at}
