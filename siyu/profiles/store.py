"""SQL for profile state: rows, traits, rollups, per-event counts, and folding one profile into another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select, text, update

from siyu.db import driver
from siyu.db.dialect import upsert
from siyu.db.tables import consents, events, profile_event_counts, profile_tags, profiles
from siyu.db.types import to_millis
from siyu.profiles.rollups import Rollup, combine
from siyu.profiles.traits import merge_traits

_ROLLUP_FIELDS = ("first_seen_at", "last_seen_at", "event_count", "order_count", "total_spend", "first_order_at",
                  "last_order_at", "first_channel", "last_channel")


@dataclass
class ProfileState:
    id: int
    traits: dict[str, Any] = field(default_factory=dict)
    trait_meta: dict[str, Any] = field(default_factory=dict)
    rollup: Rollup = field(default_factory=Rollup)
    created_at: datetime | None = None
    is_new: bool = False


def load_states(conn: Connection, workspace_id: int, profile_ids: Iterable[int]) -> dict[int, ProfileState]:
    ids = sorted(set(profile_ids))
    states: dict[int, ProfileState] = {}
    for start in range(0, len(ids), 400):
        rows = conn.execute(select(profiles).where(profiles.c.workspace_id == workspace_id,
                                                   profiles.c.id.in_(ids[start:start + 400])))
        for row in rows:
            states[row.id] = ProfileState(
                id=row.id, traits=dict(row.traits or {}), trait_meta=dict(row.trait_meta or {}),
                rollup=Rollup(**{f: getattr(row, f) for f in _ROLLUP_FIELDS}), created_at=row.created_at)
    return states


def _json_mark(conn: Connection) -> str:
    return "CAST(? AS JSONB)" if conn.dialect.name == "postgresql" else "?"


def _dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _plain(value: Any) -> Any:
    return to_millis(value) if isinstance(value, datetime) else value


def _row(state: ProfileState) -> dict[str, Any]:
    r = state.rollup
    return {"traits": state.traits, "trait_meta": state.trait_meta, **{f: getattr(r, f) for f in _ROLLUP_FIELDS}}


def save_states(conn: Connection, workspace_id: int, states: Iterable[ProfileState], at: datetime) -> None:
    states = list(states)
    new = [s for s in states if s.is_new]
    old = [s for s in states if not s.is_new]
    if new:  # driver-level: every new person of every ingest batch
        columns = ("id", "workspace_id", "created_at", "updated_at", "traits", "trait_meta", *_ROLLUP_FIELDS)
        json = _json_mark(conn)
        marks = ", ".join(json if c in ("traits", "trait_meta") else "?" for c in columns)
        driver.execute_many(conn, f"INSERT INTO profiles ({', '.join(columns)}) VALUES ({marks})", [
            (s.id, workspace_id, to_millis(s.created_at or at), to_millis(at), _dumps(s.traits), _dumps(s.trait_meta),
             *(_plain(getattr(s.rollup, f)) for f in _ROLLUP_FIELDS))
            for s in new
        ])
    if old:
        statement = (
            update(profiles)
            .where(profiles.c.workspace_id == bindparam("ws"), profiles.c.id == bindparam("pid"))
            .values(updated_at=bindparam("updated_at"),
                    **{k: bindparam(k) for k in ("traits", "trait_meta", *_ROLLUP_FIELDS)})
        )
        conn.execute(statement, [{"ws": workspace_id, "pid": s.id, "updated_at": at, **_row(s)} for s in old])


_ROLLUP_DELTA_SQL = text("""
UPDATE profiles SET
  updated_at = CAST(:now AS BIGINT),
  event_count = event_count + CAST(:event_count AS INTEGER),
  order_count = order_count + CAST(:order_count AS INTEGER),
  total_spend = total_spend + CAST(:total_spend AS FLOAT),
  first_channel = CASE WHEN CAST(:first_channel AS VARCHAR(100)) IS NOT NULL
      AND (first_channel IS NULL OR CAST(:first_seen_at AS BIGINT) < first_seen_at)
    THEN CAST(:first_channel AS VARCHAR(100)) ELSE first_channel END,
  last_channel = CASE WHEN CAST(:last_channel AS VARCHAR(100)) IS NOT NULL
      AND (last_seen_at IS NULL OR CAST(:last_seen_at AS BIGINT) >= last_seen_at)
    THEN CAST(:last_channel AS VARCHAR(100)) ELSE last_channel END,
  first_seen_at = CASE WHEN first_seen_at IS NULL OR CAST(:first_seen_at AS BIGINT) < first_seen_at
    THEN CAST(:first_seen_at AS BIGINT) ELSE first_seen_at END,
  last_seen_at = CASE WHEN last_seen_at IS NULL OR CAST(:last_seen_at AS BIGINT) > last_seen_at
    THEN CAST(:last_seen_at AS BIGINT) ELSE last_seen_at END,
  first_order_at = CASE WHEN CAST(:first_order_at AS BIGINT) IS NOT NULL
      AND (first_order_at IS NULL OR CAST(:first_order_at AS BIGINT) < first_order_at)
    THEN CAST(:first_order_at AS BIGINT) ELSE first_order_at END,
  last_order_at = CASE WHEN CAST(:last_order_at AS BIGINT) IS NOT NULL
      AND (last_order_at IS NULL OR CAST(:last_order_at AS BIGINT) > last_order_at)
    THEN CAST(:last_order_at AS BIGINT) ELSE last_order_at END
WHERE workspace_id = :ws AND id = :id
""")


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_millis(value)


def add_rollup_deltas(conn: Connection, workspace_id: int, deltas: dict[int, Rollup], at: datetime) -> None:
    """Fold one batch's rollups into stored profiles without reading them first.

    Each delta is combined with the stored values in SQL (sums add, first/last times take the
    min/max, channels follow :func:`siyu.profiles.rollups.combine`), so the hot path never loads a
    profile just to count an event, and two batches cannot lose each other's increments.
    Driver-level ``executemany``: this runs for every profile touched by every ingest batch.
    """
    if not deltas:
        return
    now = to_millis(at)
    _execute_many(conn, _ROLLUP_DELTA_SQL, [
        {"ws": workspace_id, "id": pid, "now": now, "event_count": d.event_count, "order_count": d.order_count,
         "total_spend": d.total_spend, "first_channel": d.first_channel, "last_channel": d.last_channel,
         "first_seen_at": _ms(d.first_seen_at), "last_seen_at": _ms(d.last_seen_at),
         "first_order_at": _ms(d.first_order_at), "last_order_at": _ms(d.last_order_at)}
        for pid, d in sorted(deltas.items())
    ])


def load_traits(conn: Connection, workspace_id: int, profile_ids: Iterable[int]
                ) -> dict[int, tuple[dict[str, Any], dict[str, Any]]]:
    ids = sorted(set(profile_ids))
    found: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    for start in range(0, len(ids), 400):
        chunk = ids[start:start + 400]
        # "+workspace_id": SQLite would otherwise scan the whole workspace through an index on it
        # (85 µs per profile at 95k profiles, growing) instead of looking up each id.
        for pid, traits, meta in driver.rows(
                conn, f"SELECT id, traits, trait_meta FROM profiles WHERE id IN ({driver.marks(len(chunk))}) "
                "AND +workspace_id = ?", (*chunk, workspace_id)):
            found[pid] = (_loads(traits), _loads(meta))
    return found


def _loads(value: Any) -> dict[str, Any]:
    """A JSON column as the driver returns it: text on SQLite, already decoded on PostgreSQL."""
    if value is None:
        return {}
    return dict(orjson.loads(value)) if isinstance(value, str | bytes) else dict(value)


def save_traits(conn: Connection, workspace_id: int, traits: dict[int, tuple[dict[str, Any], dict[str, Any]]]) -> None:
    if not traits:
        return
    json = _json_mark(conn)
    driver.execute_many(
        conn, f"UPDATE profiles SET traits = {json}, trait_meta = {json} WHERE workspace_id = ? AND id = ?",
        [(_dumps(t), _dumps(m), workspace_id, pid) for pid, (t, m) in sorted(traits.items())])


_EVENT_COUNTS_SQL = text("""
INSERT INTO profile_event_counts (workspace_id, profile_id, name, count, first_at, last_at)
VALUES (:ws, :pid, :name, :count, :first_at, :last_at)
ON CONFLICT (workspace_id, profile_id, name) DO UPDATE SET
  count = profile_event_counts.count + excluded.count,
  first_at = CASE WHEN excluded.first_at < profile_event_counts.first_at
    THEN excluded.first_at ELSE profile_event_counts.first_at END,
  last_at = CASE WHEN excluded.last_at > profile_event_counts.last_at
    THEN excluded.last_at ELSE profile_event_counts.last_at END
""")


def insert_tombstones(conn: Connection, workspace_id: int, tombstones: list[tuple[int, int]], at: datetime) -> None:
    """Rows for profiles that were created and merged away within one ingest batch."""
    if tombstones:
        conn.execute(profiles.insert(), [
            {"id": pid, "workspace_id": workspace_id, "created_at": at, "updated_at": at, "merged_into": into,
             "traits": {}, "trait_meta": {}} for pid, into in tombstones])


def add_event_counts(conn: Connection, workspace_id: int, counts: dict[tuple[int, str], list[Any]]) -> None:
    """Upsert (profile, event name) -> [count, first_at, last_at] increments (one statement, driver-level)."""
    if not counts:
        return
    _execute_many(conn, _EVENT_COUNTS_SQL, [
        {"ws": workspace_id, "pid": pid, "name": name, "count": c, "first_at": _ms(first), "last_at": _ms(last)}
        for (pid, name), (c, first, last) in sorted(counts.items())
    ])


def _execute_many(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> None:
    """``executemany`` of a textual statement straight on the driver, skipping per-row SQLAlchemy
    parameter processing (used on the ingest hot path only; values must already be plain)."""
    driver.execute_many_named(conn, statement.text, rows)


def fold_profile(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """Fold everything the merged-away profile holds into the survivor.

    Events, tags, consent, per-event counts, journey entries, staff tasks, one-time subscriptions and
    messages are re-pointed so that every query sees one person; the merged-away row stays as a tombstone
    (``merged_into``) so old ids still resolve.
    """
    states = load_states(conn, workspace_id, [from_id, into_id])
    source, target = states.get(from_id), states.get(into_id)
    if source is None or target is None:
        return
    target.traits, target.trait_meta = merge_traits((target.traits, target.trait_meta),
                                                    (source.traits, source.trait_meta))
    target.rollup = combine(target.rollup, source.rollup)
    save_states(conn, workspace_id, [target], at)
    conn.execute(update(profiles).where(profiles.c.workspace_id == workspace_id, profiles.c.id == from_id)
                 .values(merged_into=into_id, updated_at=at, traits={}, trait_meta={}))
    conn.execute(update(profiles).where(profiles.c.workspace_id == workspace_id, profiles.c.merged_into == from_id)
                 .values(merged_into=into_id))
    conn.execute(update(events).where(events.c.workspace_id == workspace_id, events.c.profile_id == from_id)
                 .values(profile_id=into_id))
    _fold_tags(conn, workspace_id, from_id, into_id)
    _fold_consents(conn, workspace_id, from_id, into_id)
    _fold_event_counts(conn, workspace_id, from_id, into_id)
    _fold_running_state(conn, workspace_id, from_id, into_id, at)


def _fold_running_state(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """What other capabilities keep per person and must follow a merge, each re-pointed set-based by
    its own store: journey entries, staff tasks, one-time subscriptions (subscription notices), the
    outbox (the message log, what caps count, and queued messages decided for the survivor), cash
    rewards and offer claims (with the units held against per-person limits, added up).
    Imported here, not at the top: those capabilities read profiles, so they import this module."""
    from siyu.growth.distribution_merge import fold_promoters
    from siyu.growth.merge_store import fold_campaigns
    from siyu.journeys.entry_store import fold_entries
    from siyu.journeys.task_store import fold_tasks
    from siyu.loyalty.merge_store import fold_loyalty
    from siyu.loyalty.tasks_store import fold_task_progress
    from siyu.messaging.store import fold_messages, fold_subscribe_grants
    from siyu.offers.store import fold_claims
    from siyu.payments.store import fold_rewards

    fold_entries(conn, workspace_id, from_id, into_id, at)  # first: it stops the queued sends of entries it exits
    fold_tasks(conn, workspace_id, from_id, into_id, at)
    fold_subscribe_grants(conn, workspace_id, from_id, into_id)
    fold_messages(conn, workspace_id, from_id, into_id, at)
    fold_rewards(conn, workspace_id, from_id, into_id)
    fold_claims(conn, workspace_id, from_id, into_id)
    fold_loyalty(conn, workspace_id, from_id, into_id, at)  # members, ledger, lots, tier history, daily caps
    fold_task_progress(conn, workspace_id, from_id, into_id, at)  # growth tasks: progress adds up, rewarded once
    fold_campaigns(conn, workspace_id, from_id, into_id, at)  # after the claims: a revoked credit voids its claim
    fold_promoters(conn, workspace_id, from_id, into_id, at)


def _fold_tags(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    rows = conn.execute(select(profile_tags).where(profile_tags.c.workspace_id == workspace_id,
                                                   profile_tags.c.profile_id == from_id)).all()
    if rows:
        insert = upsert(conn, profile_tags)
        conn.execute(insert.on_conflict_do_nothing(), [
            {"workspace_id": workspace_id, "profile_id": into_id, "tag_id": r.tag_id, "source": r.source,
             "added_at": r.added_at} for r in rows])
    conn.execute(delete(profile_tags).where(profile_tags.c.workspace_id == workspace_id,
                                            profile_tags.c.profile_id == from_id))


def _fold_consents(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    theirs = conn.execute(select(consents).where(consents.c.workspace_id == workspace_id,
                                                 consents.c.profile_id == from_id)).all()
    ours = {(r.channel, r.purpose): r for r in conn.execute(
        select(consents).where(consents.c.workspace_id == workspace_id, consents.c.profile_id == into_id))}
    for row in theirs:
        mine = ours.get((row.channel, row.purpose))
        if mine is None or row.updated_at > mine.updated_at:
            insert = upsert(conn, consents)
            conn.execute(insert.values(workspace_id=workspace_id, profile_id=into_id, channel=row.channel,
                                       purpose=row.purpose, status=row.status, source=row.source,
                                       updated_at=row.updated_at).on_conflict_do_update(
                index_elements=[consents.c.workspace_id, consents.c.profile_id, consents.c.channel, consents.c.purpose],
                set_={"status": row.status, "source": row.source, "updated_at": row.updated_at}))
    conn.execute(delete(consents).where(consents.c.workspace_id == workspace_id, consents.c.profile_id == from_id))


def _fold_event_counts(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    rows = conn.execute(select(profile_event_counts).where(profile_event_counts.c.workspace_id == workspace_id,
                                                           profile_event_counts.c.profile_id == from_id)).all()
    add_event_counts(conn, workspace_id, {(into_id, r.name): [r.count, r.first_at, r.last_at] for r in rows})
    conn.execute(delete(profile_event_counts).where(profile_event_counts.c.workspace_id == workspace_id,
                                                    profile_event_counts.c.profile_id == from_id))
