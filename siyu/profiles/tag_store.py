"""SQL for tags, tag groups, tagging (one profile or in bulk) and consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Connection, delete, func, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from siyu.db.dialect import upsert
from siyu.db.tables import consents, profile_tags, tag_groups, tags
from siyu.profiles.errors import ProfileError, TagNotFound
from siyu.profiles.models import TagGroupKind


def list_tags(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    counts = (select(profile_tags.c.tag_id, func.count().label("profiles"))
              .where(profile_tags.c.workspace_id == workspace_id).group_by(profile_tags.c.tag_id).subquery())
    rows = conn.execute(
        select(tags.c.id, tags.c.name, tags.c.description, tag_groups.c.name.label("group"),
               tag_groups.c.kind, func.coalesce(counts.c.profiles, 0).label("profiles"))
        .select_from(tags.outerjoin(tag_groups, tag_groups.c.id == tags.c.group_id)
                     .outerjoin(counts, counts.c.tag_id == tags.c.id))
        .where(tags.c.workspace_id == workspace_id).order_by(tags.c.name))
    return [dict(r._mapping) for r in rows]


def ensure_group(conn: Connection, workspace_id: int, name: str, kind: TagGroupKind, at: datetime) -> int:
    insert = upsert(conn, tag_groups)
    conn.execute(insert.values(workspace_id=workspace_id, name=name, kind=kind.value, created_at=at)
                 .on_conflict_do_nothing())
    return conn.execute(select(tag_groups.c.id).where(tag_groups.c.workspace_id == workspace_id,
                                                      tag_groups.c.name == name)).scalar_one()


def create_tag(conn: Connection, workspace_id: int, name: str, *, group: str | None, kind: TagGroupKind,
               description: str | None, at: datetime) -> dict[str, Any]:
    group_id = ensure_group(conn, workspace_id, group, kind, at) if group else None
    try:
        with conn.begin_nested():
            tag_id = conn.execute(tags.insert().values(workspace_id=workspace_id, group_id=group_id, name=name,
                                                       description=description, created_at=at)
                                  .returning(tags.c.id)).scalar_one()
    except IntegrityError:
        raise ProfileError(f"A tag named {name!r} already exists.", code="tags.exists", status=409) from None
    return {"id": tag_id, "name": name, "group": group, "kind": kind.value if group else None,
            "description": description, "profiles": 0}


def list_groups(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    counts = (select(tags.c.group_id, func.count().label("tags")).where(tags.c.workspace_id == workspace_id)
              .group_by(tags.c.group_id).subquery())
    rows = conn.execute(select(tag_groups.c.id, tag_groups.c.name, tag_groups.c.kind,
                               func.coalesce(counts.c.tags, 0).label("tags"))
                        .select_from(tag_groups.outerjoin(counts, counts.c.group_id == tag_groups.c.id))
                        .where(tag_groups.c.workspace_id == workspace_id).order_by(tag_groups.c.name))
    return [dict(r._mapping) for r in rows]


def get_group(conn: Connection, workspace_id: int, group_id: int) -> dict[str, Any]:
    row = conn.execute(select(tag_groups.c.id, tag_groups.c.name, tag_groups.c.kind).where(
        tag_groups.c.workspace_id == workspace_id, tag_groups.c.id == group_id)).one_or_none()
    if row is None:
        raise ProfileError(f"No tag group {group_id} in this workspace.", code="tags.group_not_found", status=404)
    return dict(row._mapping)


def create_group(conn: Connection, workspace_id: int, name: str, kind: TagGroupKind, at: datetime) -> dict[str, Any]:
    try:
        with conn.begin_nested():
            group_id = conn.execute(tag_groups.insert().values(workspace_id=workspace_id, name=name, kind=kind.value,
                                                               created_at=at).returning(tag_groups.c.id)).scalar_one()
    except IntegrityError:
        raise ProfileError(f"A tag group named {name!r} already exists.", code="tags.group_exists",
                           status=409) from None
    return {"id": group_id, "name": name, "kind": kind.value, "tags": 0}


def delete_group(conn: Connection, workspace_id: int, group_id: int) -> None:
    """Delete a group; its tags stay (ungrouped), so nobody loses a tag by tidying groups."""
    get_group(conn, workspace_id, group_id)
    conn.execute(update(tags).where(tags.c.workspace_id == workspace_id, tags.c.group_id == group_id)
                 .values(group_id=None))
    conn.execute(delete(tag_groups).where(tag_groups.c.workspace_id == workspace_id, tag_groups.c.id == group_id))


def update_tag(conn: Connection, workspace_id: int, tag_id: int, changes: dict[str, Any],
               at: datetime) -> None:
    """Rename a tag, change its description, or move it to another group (``group``: name or None)."""
    get_tag(conn, workspace_id, tag_id=tag_id)
    values: dict[str, Any] = {"name": changes["name"]} if changes.get("name") else {}
    if "description" in changes:
        values["description"] = changes["description"]
    if "group" in changes:
        group = changes["group"]
        values["group_id"] = (ensure_group(conn, workspace_id, group, changes.get("kind") or TagGroupKind.BUSINESS, at)
                              if group else None)
    if not values:
        return
    try:
        with conn.begin_nested():
            conn.execute(update(tags).where(tags.c.workspace_id == workspace_id, tags.c.id == tag_id).values(**values))
    except IntegrityError:
        raise ProfileError(f"A tag named {changes.get('name')!r} already exists.", code="tags.exists",
                           status=409) from None


def get_tag(conn: Connection, workspace_id: int, *, tag_id: int | None = None, name: str | None = None
            ) -> dict[str, Any]:
    query = select(tags.c.id, tags.c.name, tag_groups.c.name.label("group")).select_from(
        tags.outerjoin(tag_groups, tag_groups.c.id == tags.c.group_id)).where(tags.c.workspace_id == workspace_id)
    query = query.where(tags.c.id == tag_id) if tag_id is not None else query.where(tags.c.name == name)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise TagNotFound(f"No tag {tag_id if tag_id is not None else name!r} in this workspace.")
    return dict(row._mapping)


def delete_tag(conn: Connection, workspace_id: int, tag_id: int) -> None:
    get_tag(conn, workspace_id, tag_id=tag_id)
    conn.execute(delete(profile_tags).where(profile_tags.c.workspace_id == workspace_id,
                                            profile_tags.c.tag_id == tag_id))
    conn.execute(delete(tags).where(tags.c.workspace_id == workspace_id, tags.c.id == tag_id))


def _id_list(conn: Connection, profile_ids: list[int]) -> Any:
    """A list of ids as a one-parameter SELECT (a JSON array on SQLite, an array on PostgreSQL).

    Bulk operations on an uploaded list then run as the same single ``INSERT … SELECT`` or
    ``DELETE … IN (SELECT …)`` as filter-based ones: a multi-row VALUES statement costs more to
    build in SQLAlchemy than the database spends executing it (measured: 16 s for 100k rows).
    """
    if conn.dialect.name == "postgresql":
        query = text("SELECT unnest(CAST(:ids AS bigint[])) AS id").bindparams(ids=profile_ids)
    else:
        query = text("SELECT value AS id FROM json_each(:ids)").bindparams(ids=orjson.dumps(profile_ids).decode())
    return query.columns(id=BigInteger)


def add_tag(conn: Connection, workspace_id: int, tag_id: int, profile_ids: Any, source: str,
            at: datetime) -> list[int]:
    """Tag profiles (a list of ids or a SELECT of ids); returns the ids that were newly tagged.

    Set-based: one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``, so tagging 100k
    profiles is one statement and re-tagging is a no-op.
    """
    if isinstance(profile_ids, list):
        if not profile_ids:
            return []
        profile_ids = _id_list(conn, profile_ids)
    selected = profile_ids.subquery()
    # The WHERE lets SQLite parse INSERT … SELECT … ON CONFLICT unambiguously; harmless on PostgreSQL.
    source_rows = select(literal(workspace_id), selected.c.id, literal(tag_id), literal(source),
                         literal(at, type_=profile_tags.c.added_at.type)).where(literal(True))
    insert = upsert(conn, profile_tags).from_select(
        ["workspace_id", "profile_id", "tag_id", "source", "added_at"], source_rows)
    return list(conn.execute(insert.on_conflict_do_nothing().returning(profile_tags.c.profile_id)).scalars())


def remove_tag(conn: Connection, workspace_id: int, tag_id: int, profile_ids: Any) -> list[int]:
    """Untag profiles (a list of ids or a SELECT of ids) in one statement; returns who changed."""
    if isinstance(profile_ids, list):
        if not profile_ids:
            return []
        profile_ids = _id_list(conn, profile_ids)
    statement = delete(profile_tags).where(profile_tags.c.workspace_id == workspace_id,
                                           profile_tags.c.tag_id == tag_id,
                                           profile_tags.c.profile_id.in_(select(profile_ids.subquery().c.id)))
    return list(conn.execute(statement.returning(profile_tags.c.profile_id)).scalars())


def set_consent(conn: Connection, workspace_id: int, profile_id: int, channel: str, purpose: str, status: str,
                source: str, at: datetime) -> None:
    insert = upsert(conn, consents)
    conn.execute(insert.values(workspace_id=workspace_id, profile_id=profile_id, channel=channel, purpose=purpose,
                               status=status, source=source, updated_at=at).on_conflict_do_update(
        index_elements=[consents.c.workspace_id, consents.c.profile_id, consents.c.channel, consents.c.purpose],
        set_={"status": status, "source": source, "updated_at": at}))
