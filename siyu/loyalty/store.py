"""SQL of loyalty's programme, ladder, members and tier history (SQLAlchemy Core; every query
filters on ``workspace_id``). The ledger's SQL is in :mod:`siyu.loyalty.points_store`, the nightly
set-based statements in :mod:`siyu.loyalty.nightly_store`.

Locking: a member's row is the lock for everything about that person (tier, balance, lots). Every
change to a member's points begins with a statement that writes or ``FOR UPDATE``-locks the row
(PostgreSQL); on SQLite the writer's ``BEGIN IMMEDIATE`` already excludes every other writer.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, String, cast, delete, func, literal, select, text, update
from sqlalchemy.sql.elements import ColumnElement

from siyu.db.dialect import upsert
from siyu.db.tables import events, loyalty_members, loyalty_programmes, tier_changes, tiers
from siyu.db.types import to_millis
from siyu.loyalty.errors import MemberNotFound, ProgrammeMissing
from siyu.loyalty.models import EVENT_SOURCE, POINTS_CHANGED, Member, Programme, Tier

M = loyalty_members.c


def get_programme(conn: Connection, workspace_id: int) -> tuple[Programme, datetime, int]:
    """(programme with its ladder, period start, last closed period index), or ProgrammeMissing."""
    row = conn.execute(select(loyalty_programmes).where(loyalty_programmes.c.workspace_id == workspace_id)).first()
    if row is None:
        raise ProgrammeMissing("This workspace has no loyalty programme yet; set one with "
                               "PUT /api/loyalty/programme or `siyu tiers set`.")
    ladder = conn.execute(select(tiers).where(tiers.c.workspace_id == workspace_id).order_by(tiers.c.rank)).all()
    tier_list = [Tier(name=t.name, threshold=t.threshold, points_multiplier=t.points_multiplier,
                      reach_offer_id=t.reach_offer_id, monthly_offer_id=t.monthly_offer_id,
                      priority_service=t.priority_service) for t in ladder]
    programme = Programme(**{**row.settings, "tiers": [t.model_dump() for t in tier_list]})
    return programme, row.period_start, row.period_index


def save_programme(conn: Connection, workspace_id: int, programme: Programme, now: datetime) -> None:
    """Insert or replace the programme and its ladder; members above a removed top tier drop to the
    new top (their history records it as a downgrade by the caller)."""
    settings = programme.model_dump(exclude={"tiers"})
    conn.execute(upsert(conn, loyalty_programmes).values(
        workspace_id=workspace_id, settings=settings, period_start=now, period_index=0, created_at=now, updated_at=now,
    ).on_conflict_do_update(index_elements=["workspace_id"], set_={"settings": settings, "updated_at": now}))
    conn.execute(delete(tiers).where(tiers.c.workspace_id == workspace_id))
    conn.execute(tiers.insert(), [{"workspace_id": workspace_id, "rank": rank, "updated_at": now, **tier.model_dump()}
                                  for rank, tier in enumerate(programme.tiers)])
    top = len(programme.tiers) - 1
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.tier_rank > top)
                 .values(tier_rank=top, updated_at=now))
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.downgrade_to > top)
                 .values(downgrade_to=None, downgrade_at=None))


def set_period_index(conn: Connection, workspace_id: int, index: int, now: datetime) -> None:
    conn.execute(update(loyalty_programmes).where(loyalty_programmes.c.workspace_id == workspace_id)
                 .values(period_index=index, updated_at=now))


def workspaces_with_programme(conn: Connection) -> list[int]:
    # tenancy: cross-workspace by design — the worker visits every workspace with a programme
    return list(conn.execute(select(loyalty_programmes.c.workspace_id).order_by(loyalty_programmes.c.workspace_id))
                .scalars())


def _member(row: Any) -> Member:
    return Member(profile_id=int(row.profile_id), growth_value=int(row.growth_value),
                  previous_growth=int(row.previous_growth), tier_rank=row.tier_rank, tier_since=row.tier_since,
                  downgrade_to=row.downgrade_to, downgrade_at=row.downgrade_at,
                  points_balance=int(row.points_balance), points_debt=int(row.points_debt))


def lock_member(conn: Connection, workspace_id: int, profile_id: int, now: datetime) -> tuple[Member, Any]:
    """The member (created at the entry tier the first time), locked for this transaction; also the
    raw row, for the activity day and monthly-benefit markers."""
    conn.execute(upsert(conn, loyalty_members).values(
        workspace_id=workspace_id, profile_id=profile_id, growth_value=0, previous_growth=0, tier_rank=0,
        tier_since=now, points_balance=0, points_debt=0, created_at=now, updated_at=now,
    ).on_conflict_do_nothing())
    query = select(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == profile_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    return _member(row), row


def lock_members(conn: Connection, workspace_id: int, profile_ids: list[int], now: datetime) -> None:
    """Create (at the entry tier) and lock several members at once, in profile order, before a
    transaction touches any of them or claims offers for them: a batch that locked members one by one
    while holding an offer's stock row could wait for a redemption that holds one of those members and
    waits for the same stock row (a deadlock on PostgreSQL). Everyone locks members first, ordered."""
    ordered = sorted(set(profile_ids))
    if not ordered:
        return
    conn.execute(upsert(conn, loyalty_members).values([dict(
        workspace_id=workspace_id, profile_id=p, growth_value=0, previous_growth=0, tier_rank=0, tier_since=now,
        points_balance=0, points_debt=0, created_at=now, updated_at=now) for p in ordered]).on_conflict_do_nothing())
    if conn.dialect.name == "postgresql":
        conn.execute(select(M.profile_id).where(M.workspace_id == workspace_id, M.profile_id.in_(ordered))
                     .order_by(M.profile_id).with_for_update()).all()


def get_member(conn: Connection, workspace_id: int, profile_id: int) -> Member:
    row = conn.execute(select(loyalty_members).where(M.workspace_id == workspace_id,
                                                     M.profile_id == profile_id)).first()
    if row is None:
        raise MemberNotFound(f"Profile {profile_id} is not a member yet (no loyalty activity).",
                             details={"profile_id": profile_id})
    return _member(row)


def list_members(conn: Connection, workspace_id: int, *, tier_rank: int | None = None, limit: int = 100,
                 after_profile: int = 0) -> list[Member]:
    query = select(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id > after_profile)
    if tier_rank is not None:
        query = query.where(M.tier_rank == tier_rank)
    return [_member(r) for r in conn.execute(query.order_by(M.profile_id).limit(limit))]


def tier_counts(conn: Connection, workspace_id: int) -> dict[int, int]:
    return {r[0]: r[1] for r in conn.execute(select(M.tier_rank, func.count()).where(
        M.workspace_id == workspace_id).group_by(M.tier_rank))}


def update_member(conn: Connection, workspace_id: int, profile_id: int, now: datetime, **values: Any) -> None:
    conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == profile_id)
                 .values(updated_at=now, **values))


def add_growth(conn: Connection, workspace_id: int, profile_id: int, delta: int, now: datetime,
               **values: Any) -> int:
    """Add to the period's growth value (never below 0); returns the new value."""
    larger = func.max if conn.dialect.name == "sqlite" else func.greatest
    new = larger(M.growth_value + delta, 0)
    return int(conn.execute(update(loyalty_members).where(M.workspace_id == workspace_id, M.profile_id == profile_id)
                            .values(growth_value=new, updated_at=now, **values).returning(M.growth_value)).scalar_one())


def insert_tier_change(conn: Connection, workspace_id: int, profile_id: int, from_rank: int | None, to_rank: int,
                       reason: str, growth_value: int, now: datetime) -> None:
    conn.execute(tier_changes.insert().values(workspace_id=workspace_id, profile_id=profile_id, from_rank=from_rank,
                                              to_rank=to_rank, reason=reason, growth_value=growth_value,
                                              changed_at=now))


def tier_history(conn: Connection, workspace_id: int, profile_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(tier_changes).where(tier_changes.c.workspace_id == workspace_id,
                                                   tier_changes.c.profile_id == profile_id)
                        .order_by(tier_changes.c.id.desc()).limit(limit))
    return [{"id": r.id, "from_rank": r.from_rank, "to_rank": r.to_rank, "reason": r.reason,
             "growth_value": r.growth_value, "changed_at": r.changed_at} for r in rows]


def events_after(conn: Connection, workspace_id: int, position: int, limit: int,
                 names: Collection[str] | None = None) -> tuple[list[Any], int, int]:
    """A person's events after ``position`` (id, profile, name, time, properties, source) and the position to
    continue from (the last id looked at, so a quiet stretch of anonymous events still moves it) and
    how many events were looked at. With ``names``, only events so named are read (the others are
    still looked at: the position moves past them without decoding their properties)."""
    # ``workspace_id + 0``: walk ids from the cursor (siyu.segments.realtime_store.log_entries_after says
    # why); on the (workspace_id, …) indexes SQLite read the whole workspace's log each batch
    ids = conn.execute(select(events.c.id).where((events.c.workspace_id + 0) == workspace_id, events.c.id > position)
                       .order_by(events.c.id).limit(limit)).scalars().all()
    if not ids:
        return [], position, 0
    if names is not None and not names:
        return [], int(ids[-1]), len(ids)
    query = select(events.c.id, events.c.profile_id, events.c.name, events.c.timestamp,
                   events.c.properties, events.c.source).where(
        (events.c.workspace_id + 0) == workspace_id, events.c.id > position, events.c.id <= ids[-1],
        events.c.profile_id.is_not(None))
    if names is not None:
        query = query.where(events.c.name.in_(sorted(names)))
    return list(conn.execute(query.order_by(events.c.id)).all()), int(ids[-1]), len(ids)


def top_spenders(conn: Connection, workspace_id: int, limit: int) -> list[tuple[int, float]]:
    """(profile, total spend) of the biggest spenders among live profiles (the demo seeds members from
    them; a read of the profiles' rollups, which only ingest writes)."""
    from siyu.db.tables import profiles

    return [(int(r[0]), float(r[1])) for r in conn.execute(select(profiles.c.id, profiles.c.total_spend).where(
        profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None), profiles.c.total_spend > 0)
        .order_by(profiles.c.total_spend.desc(), profiles.c.id).limit(limit))]


def cursor_position(conn: Connection, workspace_id: int, name: str) -> int | None:
    """A consumer's position without locking it (None before its first claim): lets an idle worker
    pass skip the write transaction."""
    from siyu.db.tables import cursors

    return conn.execute(select(cursors.c.position).where(cursors.c.workspace_id == workspace_id,
                                                         cursors.c.name == name)).scalar_one_or_none()


def append_points_changed(conn: Connection, workspace_id: int, profile_ids: Collection[int], now: datetime) -> None:
    """A ``Points Changed`` entry for each of these members, whose balance or growth value this
    transaction changed, with the values they hold now (``points_balance``, ``growth_value``): real-time
    segment evaluation re-evaluates their loyalty conditions from it (:mod:`siyu.segments.facets`).

    One ``INSERT … SELECT`` however many members (nightly expiry of a million members writes its
    entries in one statement), the ids bound as one parameter. Call it after the change, under the
    members' locks: appending takes the workspace's log lock last (siyu.ingest.store.append_events),
    as the loyalty worker's ``Tier Changed`` does.
    """
    from siyu.identity.store import lock_identity_graph

    ordered = sorted(set(profile_ids))
    if not ordered:
        return
    lock_identity_graph(conn, workspace_id)  # appends to the log keep id order (siyu.ingest.store)
    random_id: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        listed = text("SELECT unnest(CAST(:ids AS bigint[])) AS id").bindparams(ids=ordered)
        build, random_id = func.jsonb_build_object, cast(func.gen_random_uuid(), String)
    else:
        listed = text("SELECT value AS id FROM json_each(:ids)").bindparams(ids=orjson.dumps(ordered).decode())
        build, random_id = func.json_object, func.lower(func.hex(func.randomblob(16)))
    ids = listed.columns(id=BigInteger).subquery("listed")
    stamp = literal(to_millis(now), BigInteger)
    # The entry siyu.profiles.read_store.append_profile_events would write, one per member.
    conn.execute(events.insert().from_select(
        ["workspace_id", "profile_id", "message_id", "type", "name", "timestamp", "received_at", "source",
         "properties"],
        select(M.workspace_id, M.profile_id, literal("siyu-") + random_id, literal("track"), literal(POINTS_CHANGED),
               stamp, stamp, literal(EVENT_SOURCE),
               build("points_balance", M.points_balance, "growth_value", M.growth_value))
        .where(M.workspace_id == workspace_id, M.profile_id.in_(select(ids.c.id))).order_by(M.profile_id)))
