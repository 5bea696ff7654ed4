"""All SQL of replies and welcome messages: reply rules, their match counts, the default welcome messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from siyu.acquisition.replies import RepliesError, Rule, rule_from_row
from siyu.db.dialect import upsert
from siyu.db.tables import reply_rules, welcome_messages

# Bumped by every change to rules in this process: the callback path's brief cache of enabled rules
# (replies_hooks) checks it, so a rule saved here answers the very next message.
CHANGES = [0]


def rules_of(conn: Connection, workspace_id: int, trigger: str | None = None) -> list[Rule]:
    query = select(reply_rules).where(reply_rules.c.workspace_id == workspace_id)
    if trigger is not None:
        query = query.where(reply_rules.c.trigger == trigger)
    return [rule_from_row(r) for r in conn.execute(query.order_by(reply_rules.c.priority, reply_rules.c.id))]


def enabled_rules(conn: Connection, workspace_id: int, trigger: str) -> list[Rule]:
    return [rule_from_row(r) for r in conn.execute(select(reply_rules).where(
        reply_rules.c.workspace_id == workspace_id, reply_rules.c.trigger == trigger,
        reply_rules.c.enabled.is_(True)).order_by(reply_rules.c.priority, reply_rules.c.id))]


def get_rule(conn: Connection, workspace_id: int, rule_id: int) -> Rule:
    row = conn.execute(select(reply_rules).where(reply_rules.c.workspace_id == workspace_id,
                                                 reply_rules.c.id == rule_id)).first()
    if row is None:
        raise RepliesError(f"No reply rule {rule_id} in this workspace.", code="replies.not_found", status=404)
    return rule_from_row(row)


def create_rule(conn: Connection, workspace_id: int, values: dict[str, Any], now: datetime) -> Rule:
    CHANGES[0] += 1
    try:
        with conn.begin_nested():
            new_id = conn.execute(insert(reply_rules).values(
                workspace_id=workspace_id, match_count=0, created_at=now, updated_at=now, **values,
            ).returning(reply_rules.c.id)).scalar_one()
    except IntegrityError:
        raise RepliesError(f"A reply rule named {values['name']!r} exists already.", code="replies.conflict",
                           status=409, details={"field": "name"}) from None
    return get_rule(conn, workspace_id, int(new_id))


def update_rule(conn: Connection, workspace_id: int, rule_id: int, values: dict[str, Any], now: datetime) -> Rule:
    CHANGES[0] += 1
    get_rule(conn, workspace_id, rule_id)
    try:
        with conn.begin_nested():
            conn.execute(update(reply_rules).where(reply_rules.c.workspace_id == workspace_id,
                                                   reply_rules.c.id == rule_id).values(updated_at=now, **values))
    except IntegrityError:
        raise RepliesError(f"A reply rule named {values.get('name')!r} exists already.", code="replies.conflict",
                           status=409, details={"field": "name"}) from None
    return get_rule(conn, workspace_id, rule_id)


def delete_rule(conn: Connection, workspace_id: int, rule_id: int) -> None:
    CHANGES[0] += 1
    get_rule(conn, workspace_id, rule_id)
    conn.execute(delete(reply_rules).where(reply_rules.c.workspace_id == workspace_id, reply_rules.c.id == rule_id))


def count_matches(conn: Connection, matches: Mapping[tuple[int, int], int], now: datetime) -> None:
    """More answers by rules, ``{(workspace_id, rule_id): answers}``, the last at ``now`` (atomic
    increments: concurrent writers each count)."""
    for (workspace_id, rule_id), count in matches.items():
        conn.execute(update(reply_rules).where(reply_rules.c.workspace_id == workspace_id, reply_rules.c.id == rule_id)
                     .values(match_count=reply_rules.c.match_count + count, last_matched_at=now))


# --- welcome messages -------------------------------------------------------------------------------

def welcome_of(conn: Connection, workspace_id: int, platform: str) -> dict[str, Any] | None:
    row = conn.execute(select(welcome_messages).where(welcome_messages.c.workspace_id == workspace_id,
                                                      welcome_messages.c.platform == platform)).first()
    if row is None:
        return None
    return {"platform": row.platform, "content": dict(row.content), "enabled": bool(row.enabled),
            "sent_count": int(row.sent_count), "updated_at": row.updated_at.isoformat()}


def welcomes_of(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    platforms = conn.execute(select(welcome_messages.c.platform).where(
        welcome_messages.c.workspace_id == workspace_id).order_by(welcome_messages.c.platform)).scalars().all()
    return [w for p in platforms if (w := welcome_of(conn, workspace_id, p)) is not None]


def set_welcome(conn: Connection, workspace_id: int, platform: str, content: dict[str, Any], enabled: bool,
                now: datetime) -> dict[str, Any]:
    conn.execute(upsert(conn, welcome_messages).values(
        workspace_id=workspace_id, platform=platform, content=content, enabled=enabled, sent_count=0, created_at=now,
        updated_at=now).on_conflict_do_update(index_elements=["workspace_id", "platform"],
                                              set_={"content": content, "enabled": enabled, "updated_at": now}))
    found = welcome_of(conn, workspace_id, platform)
    assert found is not None
    return found


def delete_welcome(conn: Connection, workspace_id: int, platform: str) -> bool:
    return bool(conn.execute(delete(welcome_messages).where(
        welcome_messages.c.workspace_id == workspace_id, welcome_messages.c.platform == platform)).rowcount)


def count_welcomes(conn: Connection, sent: Mapping[tuple[int, str], int]) -> None:
    """More welcomes sent, ``{(workspace_id, platform): count}``."""
    for (workspace_id, platform), count in sent.items():
        conn.execute(update(welcome_messages).where(welcome_messages.c.workspace_id == workspace_id,
                                                    welcome_messages.c.platform == platform)
                     .values(sent_count=welcome_messages.c.sent_count + count))
