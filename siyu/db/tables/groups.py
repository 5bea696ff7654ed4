"""Tables: community groups (社群), group live codes (群活码) and posters (海报) — issue 5."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- community groups ------------------------------------------------------------------------------

# One WeCom customer group (客户群) per (corp, chat id), kept from the group-chat callbacks. A callback
# only sets ``sync_due_at`` (the "sync needed" mark); the worker fetches ``groupchat/get`` and clears
# the mark only if no newer callback moved it meanwhile (compare-and-clear on the value it read).
community_groups = Table(
    "community_groups",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("corp_id", String(64), nullable=False),
    Column("chat_id", String(128), nullable=False),
    Column("name", String(200), nullable=True),
    Column("owner_userid", String(64), nullable=True),
    Column("notice", Text, nullable=True),
    Column("status", String(16), nullable=False),  # GroupStatus: active | dismissed
    Column("member_count", Integer, nullable=False, server_default="0"),
    Column("member_version", String(64), nullable=True),
    Column("platform_created_at", Timestamp, nullable=True),
    Column("sync_due_at", Timestamp, nullable=True),  # NULL: in step with WeCom
    Column("sync_attempts", Integer, nullable=False, server_default="0"),
    Column("sync_error", String(500), nullable=True),
    Column("synced_at", Timestamp, nullable=True),
    Column("dismissed_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "corp_id", "chat_id", name="uq_community_groups_chat"),
    Index("ix_community_groups_sync", "sync_due_at"),
)

# One row per stint of a member in a group: a person who leaves and comes back has two rows. The open
# stint (``quit_at`` NULL) is the current membership; ``joined_at`` is WeCom's ``join_time``.
community_group_members = Table(
    "community_group_members",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("group_id", BigInteger, nullable=False),
    Column("userid", String(128), nullable=False),  # member userid (staff) or external userid
    Column("member_type", String(16), nullable=False),  # MemberType: staff | external
    Column("unionid", String(128), nullable=True),
    Column("profile_id", BigInteger, nullable=True),
    Column("name", String(200), nullable=True),
    Column("group_nickname", String(200), nullable=True),
    Column("joined_at", Timestamp, nullable=False),
    Column("join_scene", String(16), nullable=False),  # JoinScene: invited | link | qr | unknown
    Column("invitor_userid", String(128), nullable=True),
    Column("quit_at", Timestamp, nullable=True),
    Column("quit_scene", String(16), nullable=True),  # QuitScene: left | removed | dismissed | unknown
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "group_id", "userid", "joined_at", name="uq_community_group_members_stint"),
    Index("ix_community_group_members_profile", "workspace_id", "profile_id"),
    Index("ix_community_group_members_joined", "workspace_id", "group_id", "joined_at"),
)

# Group tags: labels on groups (not on people), each in a tag group ("城市" → "上海").
group_tags = Table(
    "group_tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("tag_group", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "tag_group", "name", name="uq_group_tags_name"),
)

group_taggings = Table(
    "group_taggings",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("group_id", BigInteger, nullable=False),
    Column("tag_id", Integer, nullable=False),
    Column("added_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "group_id", "tag_id"),
    Index("ix_group_taggings_tag", "workspace_id", "tag_id"),
)

# A broadcast to groups (群发到群): written before anything is sent, then one task per (group owner,
# chunk of ≤ 2,000 groups) — WeCom sends a group task from the owner, who confirms it in the client.
group_broadcasts = Table(
    "group_broadcasts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("content", JSONType, nullable=False),
    Column("idempotency_key", String(150), nullable=False),
    Column("groups_chosen", Integer, nullable=False),
    Column("groups_skipped", JSONType, nullable=False),  # [{"group_id", "reason"}]
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_group_broadcasts_key"),
)

group_broadcast_tasks = Table(
    "group_broadcast_tasks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("broadcast_id", Integer, nullable=False),
    Column("sender", String(64), nullable=False),
    Column("group_ids", JSONType, nullable=False),  # siyu group ids
    Column("chat_ids", JSONType, nullable=False),  # WeCom chat ids, same order
    Column("status", String(16), nullable=False),  # TaskStatus: queued | sending | sent | failed | uncertain
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("due_at", Timestamp, nullable=False),
    Column("msgid", String(200), nullable=True),
    Column("fail_list", JSONType, nullable=True),
    Column("reason", String(64), nullable=True),
    Column("detail", String(500), nullable=True),
    Column("sent_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Index("ix_group_broadcast_tasks_due", "status", "due_at"),
    Index("ix_group_broadcast_tasks_broadcast", "workspace_id", "broadcast_id"),
)

# --- group live codes ------------------------------------------------------------------------------

group_codes = Table(
    "group_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("token", String(32), nullable=False, unique=True),  # the public page's address
    Column("name", String(200), nullable=False),
    Column("title", String(200), nullable=True),  # shown on the page
    Column("strategy", String(16), nullable=False),  # Strategy: in_order | least_full
    Column("alert_webhook_url", String(500), nullable=True),
    Column("status", String(16), nullable=False),  # active | archived
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

group_code_groups = Table(
    "group_code_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("code_id", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("label", String(200), nullable=False),
    Column("group_id", BigInteger, nullable=True),  # the community group, when linked: counts come from it
    Column("capacity", Integer, nullable=False),
    Column("manual_count", Integer, nullable=False, server_default="0"),
    Column("qr_image", LargeBinary, nullable=False),
    Column("qr_mime", String(32), nullable=False),
    Column("qr_sha256", String(64), nullable=False),
    Column("uploaded_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("removed_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_group_code_groups_code", "workspace_id", "code_id"),
)

# Views of the page and the group it showed, per day (``entry_id`` 0: nothing was left to show).
group_code_daily = Table(
    "group_code_daily",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("code_id", Integer, nullable=False),
    Column("entry_id", Integer, nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD in the workspace's time zone
    Column("shown", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("workspace_id", "code_id", "entry_id", "day"),
)

# Alerts to the operator, each written once per situation (``key``), then sent to the webhook.
group_code_alerts = Table(
    "group_code_alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("code_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # AlertKind: exhausted | nearly_full | expiring
    Column("key", String(200), nullable=False),
    Column("message", String(500), nullable=False),
    Column("details", JSONType, nullable=False),
    Column("webhook_status", String(16), nullable=False),  # none | pending | sent | failed
    Column("webhook_attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "code_id", "key", name="uq_group_code_alerts_key"),
    Index("ix_group_code_alerts_webhook", "webhook_status"),
)

# --- posters ---------------------------------------------------------------------------------------

poster_templates = Table(
    "poster_templates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),  # +1 on every change: part of the render cache key
    Column("background", LargeBinary, nullable=False),
    Column("background_mime", String(32), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("layout", JSONType, nullable=False),
    Column("target_url", String(1000), nullable=False),  # where the share link leads
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# A person's own share link for a template: ``/p/<token>`` records the visit and leads to
# ``target_url`` with ``ref=<token>`` (the referral token).
poster_links = Table(
    "poster_links",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("workspace_id", Integer, nullable=False),
    Column("template_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("last_hit_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "template_id", "profile_id", name="uq_poster_links_person"),
)

# Avatars fetched by the worker from the person's ``avatar`` trait: pages never wait on a remote fetch.
poster_avatars = Table(
    "poster_avatars",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("url", String(1000), nullable=False),
    Column("status", String(16), nullable=False),  # AvatarStatus: pending | fetched | failed
    Column("image", LargeBinary, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id"),
)

# Rendered posters by (template version, person, link, avatar): the same request twice renders once.
poster_renders = Table(
    "poster_renders",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("cache_key", String(64), nullable=False),
    Column("template_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("png", LargeBinary, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "cache_key"),
)
