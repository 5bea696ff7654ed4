"""SQL for profile state: rows, traits, rollups, per-event counts, and folding one profile into another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import consents, events, profile_event_counts, profile_tags, profiles
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


def _row(state: ProfileState) -> dict[str, Any]:
    r = state.rollup
    return {"traits": state.traits, "trait_meta": state.trait_meta, **{f: getattr(r, f) for f in _ROLLUP_FIELDS}}


def save_states(conn: Connection, workspace_id: int, states: Iterable[ProfileState], at: datetime) -> None:
    states = list(states)
    new = [s for s in states if s.is_new]
    old = [s for s in states if not s.is_new]
    if new:
        conn.execute(profiles.insert(), [
            {"id": s.id, "workspace_id": workspace_id, "created_at": s.created_at or at, "updated_at": at, **_row(s)}
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


def add_event_counts(conn: Connection, workspace_id: int, counts: dict[tuple[int, str], list[Any]]) -> None:
    """Upsert (profile, event name) -> [count, first_at, last_at] increments."""
    if not counts:
        return
    insert = upsert(conn, profile_event_counts)
    table = profile_event_counts
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.workspace_id, table.c.profile_id, table.c.name],
        set_={
            "count": table.c.count + insert.excluded.count,
            "first_at": case((insert.excluded.first_at < table.c.first_at, insert.excluded.first_at),
                             else_=table.c.first_at),
            "last_at": case((insert.excluded.last_at > table.c.last_at, insert.excluded.last_at),
                            else_=table.c.last_at),
        },
    )
    conn.execute(statement, [
        {"workspace_id": workspace_id, "profile_id": pid, "name": name, "count": c, "first_at": first, "last_at": last}
        for (pid, name), (c, first, last) in sorted(counts.items())
    ])


def fold_profile(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """Fold everything the merged-away profile holds into the survivor.

    Events, tags, consent and per-event counts are re-pointed so that every query sees one person;
    the merged-away row stays as a tombstone (``merged_into``) so old ids still resolve.
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
