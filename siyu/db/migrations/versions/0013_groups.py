"""community groups, group live codes and posters (issue 5)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import siyu.db.types

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_group_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("userid", sa.String(length=128), nullable=False),
        sa.Column("member_type", sa.String(length=16), nullable=False),
        sa.Column("unionid", sa.String(length=128), nullable=True),
        sa.Column("profile_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("group_nickname", sa.String(length=200), nullable=True),
        sa.Column("joined_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("join_scene", sa.String(length=16), nullable=False),
        sa.Column("invitor_userid", sa.String(length=128), nullable=True),
        sa.Column("quit_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("quit_scene", sa.String(length=16), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_group_members")),
        sa.UniqueConstraint("workspace_id", "group_id", "userid", "joined_at", name="uq_community_group_members_stint"),
    )
    op.create_index(
        "ix_community_group_members_joined",
        "community_group_members",
        ["workspace_id", "group_id", "joined_at"],
        unique=False,
    )
    op.create_index(
        "ix_community_group_members_profile", "community_group_members", ["workspace_id", "profile_id"], unique=False
    )
    op.create_table(
        "community_groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("corp_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("owner_userid", sa.String(length=64), nullable=True),
        sa.Column("notice", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("member_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("member_version", sa.String(length=64), nullable=True),
        sa.Column("platform_created_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("sync_due_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("sync_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sync_error", sa.String(length=500), nullable=True),
        sa.Column("synced_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("dismissed_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_groups")),
        sa.UniqueConstraint("workspace_id", "corp_id", "chat_id", name="uq_community_groups_chat"),
    )
    op.create_index("ix_community_groups_sync", "community_groups", ["sync_due_at"], unique=False)
    op.create_table(
        "group_broadcast_tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("group_ids", JSON, nullable=False),
        sa.Column("chat_ids", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("msgid", sa.String(length=200), nullable=True),
        sa.Column("fail_list", JSON, nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("sent_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_broadcast_tasks")),
    )
    op.create_index(
        "ix_group_broadcast_tasks_broadcast", "group_broadcast_tasks", ["workspace_id", "broadcast_id"], unique=False
    )
    op.create_index("ix_group_broadcast_tasks_due", "group_broadcast_tasks", ["status", "due_at"], unique=False)
    op.create_table(
        "group_broadcasts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(length=150), nullable=False),
        sa.Column("groups_chosen", sa.Integer(), nullable=False),
        sa.Column("groups_skipped", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_broadcasts")),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_group_broadcasts_key"),
    )
    op.create_table(
        "group_code_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("webhook_status", sa.String(length=16), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_code_alerts")),
        sa.UniqueConstraint("workspace_id", "code_id", "key", name="uq_group_code_alerts_key"),
    )
    op.create_index("ix_group_code_alerts_webhook", "group_code_alerts", ["webhook_status"], unique=False)
    op.create_table(
        "group_code_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("shown", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "code_id", "entry_id", "day", name=op.f("pk_group_code_daily")),
    )
    op.create_table(
        "group_code_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("manual_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("qr_image", sa.LargeBinary(), nullable=False),
        sa.Column("qr_mime", sa.String(length=32), nullable=False),
        sa.Column("qr_sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("expires_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("removed_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_code_groups")),
    )
    op.create_index("ix_group_code_groups_code", "group_code_groups", ["workspace_id", "code_id"], unique=False)
    op.create_table(
        "group_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("alert_webhook_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_codes")),
        sa.UniqueConstraint("token", name=op.f("uq_group_codes_token")),
    )
    op.create_table(
        "group_taggings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("added_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "group_id", "tag_id", name=op.f("pk_group_taggings")),
    )
    op.create_index("ix_group_taggings_tag", "group_taggings", ["workspace_id", "tag_id"], unique=False)
    op.create_table(
        "group_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("tag_group", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_tags")),
        sa.UniqueConstraint("workspace_id", "tag_group", "name", name="uq_group_tags_name"),
    )
    op.create_table(
        "poster_avatars",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "profile_id", name=op.f("pk_poster_avatars")),
    )
    op.create_table(
        "poster_links",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_hit_at", siyu.db.types.Timestamp(), nullable=True),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_poster_links")),
        sa.UniqueConstraint("workspace_id", "template_id", "profile_id", name="uq_poster_links_person"),
    )
    op.create_table(
        "poster_renders",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.BigInteger(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "cache_key", name=op.f("pk_poster_renders")),
    )
    op.create_table(
        "poster_templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("background", sa.LargeBinary(), nullable=False),
        sa.Column("background_mime", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("layout", JSON, nullable=False),
        sa.Column("target_url", sa.String(length=1000), nullable=False),
        sa.Column("created_at", siyu.db.types.Timestamp(), nullable=False),
        sa.Column("updated_at", siyu.db.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poster_templates")),
    )


def downgrade() -> None:
    op.drop_table("poster_templates")
    op.drop_table("poster_renders")
    op.drop_table("poster_links")
    op.drop_table("poster_avatars")
    op.drop_table("group_tags")
    op.drop_index("ix_group_taggings_tag", table_name="group_taggings")
    op.drop_table("group_taggings")
    op.drop_table("group_codes")
    op.drop_index("ix_group_code_groups_code", table_name="group_code_groups")
    op.drop_table("group_code_groups")
    op.drop_table("group_code_daily")
    op.drop_index("ix_group_code_alerts_webhook", table_name="group_code_alerts")
    op.drop_table("group_code_alerts")
    op.drop_table("group_broadcasts")
    op.drop_index("ix_group_broadcast_tasks_due", table_name="group_broadcast_tasks")
    op.drop_index("ix_group_broadcast_tasks_broadcast", table_name="group_broadcast_tasks")
    op.drop_table("group_broadcast_tasks")
    op.drop_index("ix_community_groups_sync", table_name="community_groups")
    op.drop_table("community_groups")
    op.drop_index("ix_community_group_members_profile", table_name="community_group_members")
    op.drop_index("ix_community_group_members_joined", table_name="community_group_members")
    op.drop_table("community_group_members")
