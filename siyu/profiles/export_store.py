"""SQL for exports: one chunk of live profiles with their main identifiers and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from siyu.db.tables import identities, profile_tags, profiles, tags

EXPORTED_IDENTIFIERS = ("phone", "email", "user_id", "member_id", "wechat_unionid")


def export_chunk(conn: Connection, workspace_id: int, *, after: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(profiles).where(
        profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None), profiles.c.erased_at.is_(None),
        profiles.c.id > after).order_by(profiles.c.id).limit(limit)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    found: dict[int, dict[str, list[str]]] = {}
    for profile_id, type_, value in conn.execute(
            select(identities.c.profile_id, identities.c.type, identities.c.value).where(
                identities.c.workspace_id == workspace_id, identities.c.profile_id.in_(ids),
                identities.c.type.in_(EXPORTED_IDENTIFIERS)).order_by(identities.c.value)):
        found.setdefault(profile_id, {}).setdefault(type_, []).append(value)
    tag_names: dict[int, list[str]] = {}
    for profile_id, name in conn.execute(
            select(profile_tags.c.profile_id, tags.c.name).join(tags, tags.c.id == profile_tags.c.tag_id).where(
                profile_tags.c.workspace_id == workspace_id, profile_tags.c.profile_id.in_(ids))
            .order_by(tags.c.name)):
        tag_names.setdefault(profile_id, []).append(name)
    result = []
    for r in rows:
        item = {k: getattr(r, k) for k in ("id", "first_channel", "last_channel", "first_seen_at", "last_seen_at",
                                           "order_count", "total_spend", "last_order_at")}
        item["name"] = (r.traits or {}).get("name")
        item.update({t: found.get(r.id, {}).get(t, []) for t in EXPORTED_IDENTIFIERS})
        item["tags"] = tag_names.get(r.id, [])
        result.append(item)
    return result
