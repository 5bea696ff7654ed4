"""Tagging people, one at a time or in bulk, with the history written to the event log.

Each change becomes a ``Tag Added`` / ``Tag Removed`` event on the person's timeline (properties:
tag, group, source, actor), so manual tags, bulk uploads and, later, auto-tag rules share one
history that segments and journeys can read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.profiles import read_store, tag_store
from siyu.profiles.models import ProfileFilter

TAG_ADDED = "Tag Added"
TAG_REMOVED = "Tag Removed"


def tag_profiles(conn: Connection, workspace_id: int, tag: dict[str, Any], *, profile_ids: Any = None,
                 where: ProfileFilter | None = None, source: str, actor: str, remove: bool = False) -> int:
    """Add (or remove) a tag on the given profiles (a list of ids, or a SELECT of an ``id`` column such
    as a compiled segment) or on every profile matching ``where``; returns how many profiles changed."""
    now = clock.now()
    targets: Any = profile_ids if profile_ids is not None else read_store.matching_profile_ids(
        workspace_id, where or ProfileFilter())
    if remove:
        changed = tag_store.remove_tag(conn, workspace_id, tag["id"], targets)
    else:
        changed = tag_store.add_tag(conn, workspace_id, tag["id"], targets, source, now)
    properties = {"tag": tag["name"], "group": tag.get("group"), "source": source, "actor": actor}
    read_store.append_profile_events(conn, workspace_id, [(p, TAG_REMOVED if remove else TAG_ADDED, properties)
                                                          for p in changed], source, now)
    return len(changed)


def add_tags_by_name(conn: Connection, workspace_id: int, names: list[str], profile_id: int, *, source: str,
                     actor: str) -> None:
    """Tag one person with tags named by an operator's configuration (a form, a channel code, a
    journey step), creating a business tag the first time a name is used."""
    from siyu.profiles.errors import TagNotFound
    from siyu.profiles.models import TagGroupKind

    for name in names:
        try:
            tag = tag_store.get_tag(conn, workspace_id, name=name)
        except TagNotFound:
            tag_store.create_tag(conn, workspace_id, name, group=None, kind=TagGroupKind.BUSINESS, description=None,
                                 at=clock.now())
            tag = tag_store.get_tag(conn, workspace_id, name=name)
        tag_profiles(conn, workspace_id, tag, profile_ids=[profile_id], source=source, actor=actor)
