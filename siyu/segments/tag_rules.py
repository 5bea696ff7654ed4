"""Auto-tag rules (自动打标签): a segment-language condition that adds or removes one tag.

Actions: ``add`` tags people while the condition holds and never untags; ``remove`` untags
people for whom it holds; ``sync`` adds the tag while it holds and removes it again — but only
from people this rule tagged, never from someone an operator tagged by hand. Every change is a
``Tag Added`` / ``Tag Removed`` event whose ``source`` is ``rule:<id>``, so the tag's history
says which rule set it. Rules run in real time (the worker, for the people behind new events)
and in the scheduled refresh (for everyone), exactly like segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from siyu.profiles import tag_store
from siyu.profiles.errors import TagNotFound
from siyu.profiles.models import TagGroupKind
from siyu.profiles.tagging import tag_profiles
from siyu.segments import rule_store
from siyu.segments.compile import Context, members_query
from siyu.segments.dump import dump, referenced_events
from siyu.segments.errors import InvalidDefinition
from siyu.segments.membership import checked, reads_profile_state
from siyu.segments.parse import parse

ACTIONS = ("add", "remove", "sync")


def source_of(rule: dict[str, Any]) -> str:
    return f"rule:{rule['id']}"


def create(conn: Connection, workspace_id: int, *, name: str, tag: str, action: str, definition: Any,
           now: datetime) -> dict[str, Any]:
    """Save a rule (creating its tag in the business group if it does not exist yet) and apply it."""
    if action not in ACTIONS:
        raise InvalidDefinition(f"unknown action {action!r}; one of {', '.join(ACTIONS)}",
                                details={"path": "action", "reason": "unknown action"})
    tree = checked(conn, workspace_id, definition)
    try:
        tag_row = tag_store.get_tag(conn, workspace_id, name=tag)
    except TagNotFound:
        tag_row = tag_store.create_tag(conn, workspace_id, tag, group=None, kind=TagGroupKind.BUSINESS,
                                       description=None, at=now)
    rule = rule_store.create_rule(conn, workspace_id, name=name, tag_id=tag_row["id"], action=action,
                                  definition=dump(tree), now=now)
    apply(conn, workspace_id, rule, now)
    return rule_store.get_rule(conn, workspace_id, rule["id"])


def apply(conn: Connection, workspace_id: int, rule: dict[str, Any], now: datetime,
          profile_ids: Sequence[int] | None = None) -> tuple[int, int]:
    """Apply one rule to everyone or to ``profile_ids``; returns (tagged, untagged)."""
    tree = parse(rule["definition"])
    matching = members_query(tree, Context(workspace_id, now, profile_ids))
    tag = {"id": rule["tag_id"], "name": rule["tag"], "group": None}
    source, actor = source_of(rule), f"rule:{rule['name']}"
    added = removed = 0
    if rule["action"] in ("add", "sync"):
        added = tag_profiles(conn, workspace_id, tag, profile_ids=matching, source=source, actor=actor)
    if rule["action"] == "remove":
        removed = tag_profiles(conn, workspace_id, tag, profile_ids=matching, source=source, actor=actor, remove=True)
    if rule["action"] == "sync":
        ours = rule_store.tagged_by_rule(workspace_id, rule["tag_id"], source, profile_ids).subquery()
        stale = select(ours.c.id).where(ours.c.id.not_in(select(matching.subquery().c.id)))
        removed = tag_profiles(conn, workspace_id, tag, profile_ids=stale, source=source, actor=actor, remove=True)
    return added, removed


def apply_all(conn: Connection, workspace_id: int, now: datetime, profile_ids: Sequence[int] | None = None,
              event_names: set[str] | None = None) -> dict[int, tuple[int, int]]:
    """Every active rule, for everyone (refresh) or for the people behind new events (real time)."""
    changes = {}
    for rule in rule_store.list_rules(conn, workspace_id, status="active"):
        tree = parse(rule["definition"])
        if event_names is not None and not (referenced_events(tree) & event_names or reads_profile_state(tree)):
            continue
        added, removed = apply(conn, workspace_id, rule, now, profile_ids)
        if added or removed:
            changes[rule["id"]] = (added, removed)
    return changes
