"""SQL for group tags: labels on groups (not on people), each in a tag group."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from siyu.db.dialect import upsert
from siyu.db.tables import community_groups, group_taggings, group_tags


def ensure_tag(conn: Connection, workspace_id: int, tag_group: str, name: str, now: datetime) -> int:
    """The tag's id, creating it once (the unique key, not a check first)."""
    conn.execute(upsert(conn, group_tags).values(workspace_id=workspace_id, tag_group=tag_group, name=name,
                                                 created_at=now).on_conflict_do_nothing(
        index_elements=["workspace_id", "tag_group", "name"]))
    return int(conn.execute(select(group_tags.c.id).where(
        group_tags.c.workspace_id == workspace_id, group_tags.c.tag_group == tag_group,
        group_tags.c.name == name)).scalar_one())


def list_tags(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    """Every group tag with how many groups carry it, by tag group."""
    used = (select(group_taggings.c.tag_id, func.count().label("groups"))
            .where(group_taggings.c.workspace_id == workspace_id).group_by(group_taggings.c.tag_id).subquery())
    rows = conn.execute(select(group_tags, func.coalesce(used.c.groups, 0).label("groups"))
                        .outerjoin(used, used.c.tag_id == group_tags.c.id)
                        .where(group_tags.c.workspace_id == workspace_id)
                        .order_by(group_tags.c.tag_group, group_tags.c.name))
    return [{"id": r.id, "tag_group": r.tag_group, "name": r.name, "groups": int(r.groups)} for r in rows]


def tag_exists(conn: Connection, workspace_id: int, tag_id: int) -> bool:
    return conn.execute(select(group_tags.c.id).where(group_tags.c.workspace_id == workspace_id,
                                                      group_tags.c.id == tag_id)).first() is not None


def delete_tag(conn: Connection, workspace_id: int, tag_id: int) -> bool:
    conn.execute(delete(group_taggings).where(group_taggings.c.workspace_id == workspace_id,
                                              group_taggings.c.tag_id == tag_id))
    return conn.execute(delete(group_tags).where(group_tags.c.workspace_id == workspace_id,
                                                 group_tags.c.id == tag_id)).rowcount > 0


def tag_groups(conn: Connection, workspace_id: int, group_ids: list[int], tag_id: int, now: datetime) -> int:
    """Put the tag on these groups (those of this workspace); how many gained it."""
    known = list(conn.execute(select(community_groups.c.id).where(
        community_groups.c.workspace_id == workspace_id, community_groups.c.id.in_(group_ids))).scalars())
    if not known:
        return 0
    inserted = conn.execute(upsert(conn, group_taggings).values(
        [{"workspace_id": workspace_id, "group_id": group_id, "tag_id": tag_id, "added_at": now} for group_id in known]
    ).on_conflict_do_nothing().returning(group_taggings.c.group_id))
    return len(list(inserted))


def untag_groups(conn: Connection, workspace_id: int, group_ids: list[int], tag_id: int) -> int:
    return conn.execute(delete(group_taggings).where(
        group_taggings.c.workspace_id == workspace_id, group_taggings.c.tag_id == tag_id,
        group_taggings.c.group_id.in_(group_ids))).rowcount
