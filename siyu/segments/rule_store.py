"""SQL for auto-tag rules (自动打标签) and for finding who a rule tagged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from siyu.db.tables import profile_tags, tag_rules, tags
from siyu.segments.errors import SegmentConflict, SegmentError

_COLUMNS = [tag_rules.c.id, tag_rules.c.name, tag_rules.c.tag_id, tags.c.name.label("tag"), tag_rules.c.action,
            tag_rules.c.definition, tag_rules.c.status, tag_rules.c.created_at, tag_rules.c.updated_at]


class RuleNotFound(SegmentError):
    code = "tag_rules.not_found"
    status = 404


def _select(workspace_id: int) -> Any:
    return (select(*_COLUMNS).join(tags, tags.c.id == tag_rules.c.tag_id)
            .where(tag_rules.c.workspace_id == workspace_id, tags.c.workspace_id == workspace_id))


def create_rule(conn: Connection, workspace_id: int, *, name: str, tag_id: int, action: str,
                definition: dict[str, Any], now: datetime) -> dict[str, Any]:
    try:
        with conn.begin_nested():
            rule_id = conn.execute(insert(tag_rules).values(
                workspace_id=workspace_id, name=name, tag_id=tag_id, action=action, definition=definition,
                status="active", created_at=now, updated_at=now).returning(tag_rules.c.id)).scalar_one()
    except IntegrityError:
        raise SegmentConflict(f"An auto-tag rule named {name!r} already exists.", code="tag_rules.conflict",
                              details={"name": name}) from None
    return get_rule(conn, workspace_id, rule_id)


def get_rule(conn: Connection, workspace_id: int, rule_id: int) -> dict[str, Any]:
    row = conn.execute(_select(workspace_id).where(tag_rules.c.id == rule_id)).one_or_none()
    if row is None:
        raise RuleNotFound(f"No auto-tag rule {rule_id} in this workspace.", details={"rule_id": rule_id})
    return dict(row._mapping)


def list_rules(conn: Connection, workspace_id: int, *, status: str | None = None) -> list[dict[str, Any]]:
    query = _select(workspace_id).order_by(tag_rules.c.id)
    if status:
        query = query.where(tag_rules.c.status == status)
    return [dict(r._mapping) for r in conn.execute(query)]


def set_status(conn: Connection, workspace_id: int, rule_id: int, status: str, now: datetime) -> dict[str, Any]:
    get_rule(conn, workspace_id, rule_id)
    conn.execute(update(tag_rules).where(tag_rules.c.workspace_id == workspace_id, tag_rules.c.id == rule_id)
                 .values(status=status, updated_at=now))
    return get_rule(conn, workspace_id, rule_id)


def tagged_by_rule(workspace_id: int, tag_id: int, source: str, profile_ids: Sequence[int] | None = None) -> Any:
    """A SELECT of the profile ids that carry the tag because this rule put it there."""
    query = select(profile_tags.c.profile_id.label("id")).where(
        profile_tags.c.workspace_id == workspace_id, profile_tags.c.tag_id == tag_id, profile_tags.c.source == source)
    if profile_ids is not None:
        query = query.where(profile_tags.c.profile_id.in_(list(profile_ids)))
    return query
