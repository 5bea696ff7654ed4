"""SQL for reading profiles: resolution of ids, detail, search, the event timeline; and the few
writes the management API makes on a single profile (traits, erasure, internal events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, exists, func, or_, select, update

from siyu.db.tables import (
    consents,
    erasures,
    events,
    identities,
    identity_conflicts,
    profile_merges,
    profile_tags,
    profiles,
    tag_groups,
    tags,
)
from siyu.db.types import to_millis
from siyu.identity import store as identity_store
from siyu.ingest import store as ingest_store
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.models import ProfileFilter, ProfileSummary

MAX_MERGE_HOPS = 32


def resolve_profile_id(conn: Connection, workspace_id: int, profile_id: int) -> int:
    """The live profile an id stands for: merged-away ids lead to their survivor."""
    current = profile_id
    for _ in range(MAX_MERGE_HOPS):
        row = conn.execute(select(profiles.c.id, profiles.c.merged_into).where(
            profiles.c.workspace_id == workspace_id, profiles.c.id == current)).one_or_none()
        if row is None:
            break
        if row.merged_into is None:
            return row.id
        current = row.merged_into
    raise ProfileNotFound(f"No profile {profile_id} in this workspace.", details={"profile_id": profile_id})


def _rollups(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in ("first_seen_at", "last_seen_at", "event_count", "order_count",
                                         "total_spend", "first_order_at", "last_order_at", "first_channel",
                                         "last_channel")}


def profile_detail(conn: Connection, workspace_id: int, profile_id: int) -> dict[str, Any]:
    """Everything the profile page and ``GET /api/profiles/{id}`` show about one person."""
    live_id = resolve_profile_id(conn, workspace_id, profile_id)
    row = conn.execute(select(profiles).where(profiles.c.workspace_id == workspace_id,
                                              profiles.c.id == live_id)).one()
    found = conn.execute(select(identities).where(identities.c.workspace_id == workspace_id,
                                                  identities.c.profile_id == live_id)
                         .order_by(identities.c.type, identities.c.value)).all()
    tag_rows = conn.execute(
        select(tags.c.id, tags.c.name, tag_groups.c.name.label("group"), tag_groups.c.kind, profile_tags.c.source,
               profile_tags.c.added_at)
        .select_from(profile_tags.join(tags, tags.c.id == profile_tags.c.tag_id)
                     .outerjoin(tag_groups, tag_groups.c.id == tags.c.group_id))
        .where(profile_tags.c.workspace_id == workspace_id, profile_tags.c.profile_id == live_id)
        .order_by(tags.c.name)).all()
    consent_rows = conn.execute(select(consents).where(consents.c.workspace_id == workspace_id,
                                                       consents.c.profile_id == live_id)
                                .order_by(consents.c.channel, consents.c.purpose)).all()
    merged_from = conn.execute(select(profile_merges.c.from_profile_id).where(
        profile_merges.c.workspace_id == workspace_id, profile_merges.c.into_profile_id == live_id)
        .order_by(profile_merges.c.id)).scalars().all()
    return {
        "id": row.id, "created_at": row.created_at, "updated_at": row.updated_at,
        "erased": row.erased_at is not None,
        "identities": [{"type": i.type, "value": i.value, "first_seen_at": i.first_seen_at,
                        "last_seen_at": i.last_seen_at, "source": i.source} for i in found],
        "traits": row.traits or {}, "trait_meta": row.trait_meta or {},
        "tags": [{"id": t.id, "name": t.name, "group": t.group, "kind": t.kind, "source": t.source,
                  "added_at": t.added_at} for t in tag_rows],
        "consent": [{"channel": c.channel, "purpose": c.purpose, "status": c.status, "source": c.source,
                     "updated_at": c.updated_at} for c in consent_rows],
        "rollups": _rollups(row),
        "merged_from": list(merged_from),
    }


def _conditions(workspace_id: int, where: ProfileFilter) -> list[Any]:
    clauses: list[Any] = [profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None),
                          profiles.c.erased_at.is_(None)]
    if where.identifier:
        clauses.append(exists().where(identities.c.workspace_id == workspace_id,
                                      identities.c.profile_id == profiles.c.id,
                                      identities.c.type == where.identifier[0],
                                      identities.c.value == where.identifier[1]))
    if where.tag_ids:
        clauses.append(exists().where(profile_tags.c.workspace_id == workspace_id,
                                      profile_tags.c.profile_id == profiles.c.id,
                                      profile_tags.c.tag_id.in_(where.tag_ids)))
    if where.trait:
        clauses.append(profiles.c.traits[where.trait[0]].as_string() == where.trait[1])
    if where.channel:
        clauses.append(profiles.c.first_channel == where.channel)
    if where.text:
        pattern = where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        digits = "".join(c for c in where.text if c.isdigit())
        phone_like = []
        if len(digits) >= 3 and all(c.isdigit() or c in " +-()" for c in where.text.strip()):
            # People type phones as they see them ("138 0013"), stored ones are E.164 ("+86138…").
            prefixes = {f"+{digits}"} | ({f"+86{digits}"} if digits.startswith("1") else set())
            phone_like = [exists().where(identities.c.workspace_id == workspace_id,
                                         identities.c.profile_id == profiles.c.id, identities.c.type == "phone",
                                         identities.c.value.like(f"{p}%")) for p in sorted(prefixes)]
        clauses.append(or_(
            *phone_like,
            profiles.c.traits["name"].as_string().like(f"%{pattern}%", escape="\\"),
            profiles.c.traits["nickname"].as_string().like(f"%{pattern}%", escape="\\"),
            exists().where(identities.c.workspace_id == workspace_id, identities.c.profile_id == profiles.c.id,
                           identities.c.value.like(f"{pattern}%", escape="\\")),
        ))
    return clauses


def search_profiles(conn: Connection, workspace_id: int, where: ProfileFilter, *, limit: int = 50,
                    cursor: tuple[int, int] | None = None) -> tuple[list[ProfileSummary], tuple[int, int] | None]:
    """Profiles matching ``where``, most recently seen first; keyset-paginated on (last seen, id)."""
    seen = func.coalesce(profiles.c.last_seen_at, 0)
    query = select(profiles.c.id, profiles.c.traits, profiles.c.first_channel, profiles.c.last_seen_at,
                   profiles.c.order_count, profiles.c.total_spend, seen.label("seen")).where(
        *_conditions(workspace_id, where))
    if cursor is not None:
        query = query.where(or_(seen < cursor[0], and_(seen == cursor[0], profiles.c.id < cursor[1])))
    rows = conn.execute(query.order_by(seen.desc(), profiles.c.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    tag_names = _tag_names(conn, workspace_id, [r.id for r in page])
    summaries = [ProfileSummary(id=r.id, name=(r.traits or {}).get("name"), phone=(r.traits or {}).get("phone"),
                                first_channel=r.first_channel, last_seen_at=r.last_seen_at,
                                order_count=r.order_count, total_spend=r.total_spend,
                                tags=tag_names.get(r.id, [])) for r in page]
    last_seen = page[-1].seen if page else 0
    last_seen = to_millis(last_seen) if isinstance(last_seen, datetime) else int(last_seen or 0)
    next_cursor = (last_seen, page[-1].id) if len(rows) > limit else None
    return summaries, next_cursor


def count_profiles(conn: Connection, workspace_id: int, where: ProfileFilter) -> int:
    return conn.execute(select(func.count()).select_from(profiles).where(*_conditions(workspace_id, where))
                        ).scalar_one()


def matching_profile_ids(workspace_id: int, where: ProfileFilter) -> Any:
    """A SELECT of the ids matching ``where``, for set-based bulk operations."""
    return select(profiles.c.id).where(*_conditions(workspace_id, where))


def _tag_names(conn: Connection, workspace_id: int, profile_ids: list[int]) -> dict[int, list[str]]:
    if not profile_ids:
        return {}
    rows = conn.execute(select(profile_tags.c.profile_id, tags.c.name)
                        .join(tags, tags.c.id == profile_tags.c.tag_id)
                        .where(profile_tags.c.workspace_id == workspace_id,
                               profile_tags.c.profile_id.in_(profile_ids)).order_by(tags.c.name))
    names: dict[int, list[str]] = {}
    for profile_id, name in rows:
        names.setdefault(profile_id, []).append(name)
    return names


def profile_events(conn: Connection, workspace_id: int, profile_id: int, *, limit: int = 100,
                   before: tuple[int, int] | None = None) -> tuple[list[dict[str, Any]], tuple[int, int] | None]:
    """A person's events, newest first, keyset-paginated on (timestamp, id)."""
    query = select(events).where(events.c.workspace_id == workspace_id, events.c.profile_id == profile_id)
    if before is not None:
        query = query.where(or_(events.c.timestamp < before[0],
                                and_(events.c.timestamp == before[0], events.c.id < before[1])))
    rows = conn.execute(query.order_by(events.c.timestamp.desc(), events.c.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    items = [{"id": r.id, "name": r.name, "type": r.type, "message_id": r.message_id, "timestamp": r.timestamp,
              "received_at": r.received_at, "source": r.source, "properties": r.properties or {},
              "traits": r.traits or {}, "context": r.context or {}} for r in page]
    cursor = (to_millis(page[-1].timestamp), page[-1].id) if len(rows) > limit else None
    return items, cursor


def profile_timeline(conn: Connection, workspace_id: int, profile_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """Everything that happened to a person, newest first: their own events and what the brand did
    to them (``Tag Added``/``Tag Removed``, ``Consent Changed``, ``Traits Changed``), which are all
    in the one event log. A merged-away id shows its survivor's timeline."""
    live_id = resolve_profile_id(conn, workspace_id, profile_id)
    return profile_events(conn, workspace_id, live_id, limit=limit)[0]


def append_profile_events(conn: Connection, workspace_id: int, items: list[tuple[int, str, dict[str, Any]]],
                          source: str, at: datetime) -> None:
    """Write what the brand did to people (tags, consent, trait edits) into the one append-only log,
    so a person's timeline is a single history."""
    stamp = to_millis(at)
    ingest_store.append_events(conn, workspace_id, [
        (workspace_id, profile_id, f"siyu-{uuid.uuid4()}", "track", name, None, None, stamp, None, stamp, source,
         orjson.dumps(properties).decode(), None, None)
        for profile_id, name, properties in items
    ])


def save_profile_traits(conn: Connection, workspace_id: int, profile_id: int, traits: dict[str, Any],
                        meta: dict[str, Any], at: datetime) -> None:
    conn.execute(update(profiles).where(profiles.c.workspace_id == workspace_id, profiles.c.id == profile_id)
                 .values(traits=traits, trait_meta=meta, updated_at=at))


def erase_profile(conn: Connection, workspace_id: int, profile_id: int, actor: str, reason: str | None,
                  at: datetime) -> dict[str, int]:
    """PIPL Art. 47 / GDPR Art. 17 erasure: remove the person, keep anonymous counts.

    Identities, traits, tags and consent go; the person's events keep their name, type and time
    (so daily counts and funnels stay right) but lose properties, traits, context and ids; merge
    and conflict records that quote their identifiers are scrubbed; the profile row stays as a
    tombstone with ``erased_at``. Idempotent.
    """
    removed = conn.execute(select(identities.c.type, identities.c.value).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id)).all()
    identity_store.delete_identities(conn, workspace_id, profile_id)
    values = [r.value for r in removed]
    if values:
        conn.execute(delete(identity_conflicts).where(identity_conflicts.c.workspace_id == workspace_id,
                                                      identity_conflicts.c.identifier_value.in_(values)))
    conn.execute(update(profile_merges).where(
        profile_merges.c.workspace_id == workspace_id,
        or_(profile_merges.c.into_profile_id == profile_id, profile_merges.c.from_profile_id == profile_id))
        .values(identities=[]))
    scrubbed = conn.execute(update(events).where(events.c.workspace_id == workspace_id,
                                                 events.c.profile_id == profile_id)
                            .values(properties=None, traits=None, context=None, user_id=None,
                                    anonymous_id=None)).rowcount
    conn.execute(delete(profile_tags).where(profile_tags.c.workspace_id == workspace_id,
                                            profile_tags.c.profile_id == profile_id))
    conn.execute(delete(consents).where(consents.c.workspace_id == workspace_id,
                                        consents.c.profile_id == profile_id))
    conn.execute(update(profiles).where(profiles.c.workspace_id == workspace_id,
                                        or_(profiles.c.id == profile_id, profiles.c.merged_into == profile_id))
                 .values(traits={}, trait_meta={}, erased_at=at, updated_at=at, first_channel=None,
                         last_channel=None))
    conn.execute(erasures.insert().values(workspace_id=workspace_id, profile_id=profile_id, actor=actor,
                                          reason=reason, identities_removed=len(removed), events_scrubbed=scrubbed,
                                          created_at=at))
    return {"identities_removed": len(removed), "events_scrubbed": scrubbed}


def is_erased(conn: Connection, workspace_id: int, profile_id: int) -> bool:
    erased_at = conn.execute(select(profiles.c.erased_at).where(profiles.c.workspace_id == workspace_id,
                                                                profiles.c.id == profile_id)).scalar_one_or_none()
    return erased_at is not None
