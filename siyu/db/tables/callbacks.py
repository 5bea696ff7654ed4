"""Tables: keyword / menu-click replies and default welcome messages (issue 5)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# Auto-reply rules of an official account (关键词回复 / 菜单回复). ``trigger`` is ``keyword`` (the
# text of an inbound message, matched ``exact`` / ``contains`` / ``regex`` against ``patterns``) or
# ``menu`` (a menu click's EventKey, matched exactly). The lowest ``priority`` that matches answers,
# with ``reply`` or the first of its time-of-day ``variants`` that covers the local time.
# ``match_count`` is bumped in the callback's transaction when the rule answers.
reply_rules = Table(
    "reply_rules",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("trigger", String(16), nullable=False),  # keyword | menu
    Column("match", String(16), nullable=False),  # exact | contains | regex
    Column("patterns", JSONType, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("reply", JSONType, nullable=False),
    Column("variants", JSONType, nullable=False),
    Column("match_count", BigInteger, nullable=False, server_default="0"),
    Column("last_matched_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_reply_rules_name"),
    Index("ix_reply_rules_trigger", "workspace_id", "trigger", "priority"),
)

# The default welcome message per platform (欢迎语): ``wechat`` answers a follow, ``wecom`` greets a
# customer a staff member added (send_welcome_msg with the push's WelcomeCode). A channel code's
# own welcome message, when it has one, wins over this default.
welcome_messages = Table(
    "welcome_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("platform", String(16), nullable=False),  # wechat | wecom
    Column("content", JSONType, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("sent_count", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "platform", name="uq_welcome_messages_platform"),
)
