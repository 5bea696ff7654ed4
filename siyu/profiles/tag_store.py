"""SQL for tags, tag groups, tagging (one profile or in bulk) and consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select
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


def add_tag(conn: Connection, workspace_id: int, tag_id: int, profile_ids: Any, source: str,
            at: datetime) -> list[int]:
    """Tag profiles (a list of ids or a SELECT of ids); returns the ids that were newly tagged.

    Set-based: one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``, so tagging 100k
    profiles is one statement and re-tagging is a no-op.
    """
    from sqlalchemy import literal

    if isinstance(profile_ids, list):
        if not profile_ids:
            return []
        insert = upsert(conn, profile_tags)
        statement = insert.values([{"workspace_id": workspace_id, "profile_id": p, "tag_id": tag_id,
                                    "source": source, "added_at": at} for p in profile_ids])
        return list(conn.execute(statement.on_conflict_do_nothing().returning(profile_tags.c.profile_id)).scalars())
    selected = profile_ids.subquery()
    source_rows = select(literal(workspace_id), selected.c.id, literal(tag_id), literal(source),
                         literal(at, type_=profile_tags.c.added_at.type))
    insert = upsert(conn, profile_tags).from_select(
        ["workspace_id", "profile_id", "tag_id", "source", "added_at"], source_rows)
    if conn.dialect.name == "sqlite":
        # SQLite needs a WHERE on INSERT … SELECT before ON CONFLICT to parse it unambiguously.
        insert = upsert(conn, profile_tags).from_select(
            ["workspace_id", "profile_id", "tag_id", "source", "added_at"], source_rows.where(literal(True)))
    return list(conn.execute(insert.on_conflict_do_nothing().returning(profile_tags.c.profile_id)).scalars())


def remove_tag(conn: Connection, workspace_id: int, tag_id: int, profile_ids: Any) -> list[int]:
    condition = profile_tags.c.profile_id.in_(profile_ids if isinstance(profile_ids, list)
                                              else profile_ids.scalar_subquery())
    statement = delete(profile_tags).where(profile_tags.c.workspace_id == workspace_id,
                                           profile_tags.c.tag_id == tag_id, condition)
    return list(conn.execute(statement.returning(profile_tags.c.profile_id)).scalars())


def set_consent(conn: Connection, workspace_id: int, profile_id: int, channel: str, purpose: str, status: str,
                source: str, at: datetime) -> None:
    insert = upsert(conn, consents)
    conn.execute(insert.values(workspace_id=workspace_id, profile_id=profile_id, channel=channel, purpose=purpose,
                               status=status, source=source, updated_at=at).on_conflict_do_update(
        index_elements=[consents.c.workspace_id, consents.c.profile_id, consents.c.channel, consents.c.purpose],
        set_={"status": status, "source": source, "updated_at": at}))
