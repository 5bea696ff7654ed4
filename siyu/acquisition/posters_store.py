"""SQL for posters: templates, each person's share link, fetched avatars, the render cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import poster_avatars, poster_links, poster_renders, poster_templates

templates_t, links_t, avatars_t, renders_t = poster_templates, poster_links, poster_avatars, poster_renders
TEMPLATE_COLUMNS = [c for c in templates_t.c if c.name != "background"]


def create_template(conn: Connection, workspace_id: int, *, name: str, background: bytes, mime: str, width: int,
                    height: int, layout: dict[str, Any], target_url: str, now: datetime) -> int:
    return int(conn.execute(templates_t.insert().values(
        workspace_id=workspace_id, name=name, version=1, background=background, background_mime=mime, width=width,
        height=height, layout=layout, target_url=target_url, created_at=now, updated_at=now,
    ).returning(templates_t.c.id)).scalar_one())


def get_template(conn: Connection, workspace_id: int, template_id: int, *, with_background: bool = False
                 ) -> dict[str, Any] | None:
    columns = list(templates_t.c) if with_background else TEMPLATE_COLUMNS
    row = conn.execute(select(*columns).where(templates_t.c.workspace_id == workspace_id,
                                              templates_t.c.id == template_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def list_templates(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(*TEMPLATE_COLUMNS).where(
        templates_t.c.workspace_id == workspace_id).order_by(templates_t.c.id))]


def change_template(conn: Connection, workspace_id: int, template_id: int, now: datetime, **values: Any) -> None:
    """Any change is a new version: posters rendered from the old one are not served again."""
    conn.execute(update(templates_t).where(templates_t.c.workspace_id == workspace_id,
                                           templates_t.c.id == template_id)
                 .values(version=templates_t.c.version + 1, updated_at=now, **values))


def ensure_link(conn: Connection, workspace_id: int, template_id: int, profile_id: int, token: str,
                now: datetime) -> str:
    """The person's share-link token for this template, made once (the unique key decides)."""
    conn.execute(upsert(conn, links_t).values(
        token=token, workspace_id=workspace_id, template_id=template_id, profile_id=profile_id, created_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "template_id", "profile_id"]))
    return str(conn.execute(select(links_t.c.token).where(
        links_t.c.workspace_id == workspace_id, links_t.c.template_id == template_id,
        links_t.c.profile_id == profile_id)).scalar_one())


def link_by_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """tenancy: cross-workspace (the random token is the address; the row names its workspace)"""
    row = conn.execute(select(links_t, templates_t.c.target_url).join(
        templates_t, templates_t.c.id == links_t.c.template_id).where(links_t.c.token == token)).one_or_none()
    return None if row is None else dict(row._mapping)


def count_hit(conn: Connection, workspace_id: int, token: str, now: datetime) -> None:
    conn.execute(update(links_t).where(links_t.c.workspace_id == workspace_id, links_t.c.token == token)
                 .values(hits=links_t.c.hits + 1, last_hit_at=now))


def links_of_template(conn: Connection, workspace_id: int, template_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(links_t).where(links_t.c.workspace_id == workspace_id,
                                              links_t.c.template_id == template_id)
                        .order_by(links_t.c.hits.desc(), links_t.c.profile_id))
    return [dict(r._mapping) for r in rows]


def avatar_of(conn: Connection, workspace_id: int, profile_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(avatars_t).where(avatars_t.c.workspace_id == workspace_id,
                                               avatars_t.c.profile_id == profile_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def want_avatar(conn: Connection, workspace_id: int, profile_id: int, url: str, now: datetime) -> None:
    """Ask the worker to fetch ``url`` (again, if the person's avatar changed)."""
    conn.execute(upsert(conn, avatars_t).values(
        workspace_id=workspace_id, profile_id=profile_id, url=url, status="pending", attempts=0, updated_at=now,
    ).on_conflict_do_update(index_elements=["workspace_id", "profile_id"], set_={
        "url": url, "status": "pending", "image": None, "attempts": 0, "updated_at": now}))


def store_avatar(conn: Connection, workspace_id: int, profile_id: int, url: str, image: bytes | None, now: datetime
                 ) -> None:
    """The fetched avatar (or a failed fetch: ``image`` None); ignored if the person's avatar URL
    changed while it was being fetched."""
    values: dict[str, Any] = {"updated_at": now, "attempts": avatars_t.c.attempts + 1}
    if image is not None:
        values.update(status="fetched", image=image)
    else:
        values.update(status="failed")
    conn.execute(update(avatars_t).where(avatars_t.c.workspace_id == workspace_id,
                                         avatars_t.c.profile_id == profile_id, avatars_t.c.url == url).values(**values))


def pending_avatars(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Avatars to fetch.

    tenancy: cross-workspace (the worker serves every workspace; each row carries its own)
    """
    rows = conn.execute(select(avatars_t.c.workspace_id, avatars_t.c.profile_id, avatars_t.c.url)
                        .where(avatars_t.c.status == "pending").limit(limit))
    return [dict(r._mapping) for r in rows]


def cached_render(conn: Connection, workspace_id: int, key: str) -> bytes | None:
    found = conn.execute(select(renders_t.c.png).where(renders_t.c.workspace_id == workspace_id,
                                                       renders_t.c.cache_key == key)).scalar_one_or_none()
    return None if found is None else bytes(found)


def keep_render(conn: Connection, workspace_id: int, key: str, template_id: int, profile_id: int, png: bytes,
                now: datetime) -> None:
    conn.execute(upsert(conn, renders_t).values(
        workspace_id=workspace_id, cache_key=key, template_id=template_id, profile_id=profile_id, png=png,
        created_at=now).on_conflict_do_nothing(index_elements=["workspace_id", "cache_key"]))
