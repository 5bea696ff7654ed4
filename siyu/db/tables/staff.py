"""Tables: staff, personas, customer ownership and transfers, SOP rules; channel codes (issue 5)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- staff and personas ---------------------------------------------------------------------------

# A staff account: a WeCom member (``userid``) or a persona (人设, e.g. 小完子: a name, an avatar and
# a signature customers see, with one or more members behind it — each member row names its
# persona). A member who left keeps the row (status ``left``): their customers' history points to it.
staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # StaffKind: member | persona
    Column("userid", String(64), nullable=True),  # WeCom userid of a member; None for a persona
    Column("name", String(100), nullable=False),
    Column("avatar_url", String(500), nullable=True),
    Column("signature", String(200), nullable=True),
    Column("department", String(100), nullable=True),
    Column("persona_id", Integer, nullable=True),  # the persona a member serves as
    Column("status", String(16), nullable=False),  # StaffStatus: active | left
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("left_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "userid", name="uq_staff_userid"),
    Index("ix_staff_ws_kind", "workspace_id", "kind", "status"),
)

# Who owns (跟进) a customer, from when until when, and why: one row per spell. A customer may be
# the external contact of several members at once; the current owner is the latest open spell.
# ``source_key`` (the callback event, the transfer) makes recording a spell idempotent.
customer_owners = Table(
    "customer_owners",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("userid", String(64), nullable=False),
    Column("external_userid", String(128), nullable=True),
    Column("state", String(64), nullable=True),  # the contact way's state (a channel code's key)
    Column("started_at", Timestamp, nullable=False),
    Column("start_reason", String(32), nullable=False),  # OwnershipReason
    Column("ended_at", Timestamp, nullable=True),
    Column("end_reason", String(32), nullable=True),
    Column("source_key", String(200), nullable=False),
    UniqueConstraint("workspace_id", "source_key", name="uq_customer_owners_key"),
    Index("ix_customer_owners_profile", "workspace_id", "profile_id", "ended_at"),
    Index("ix_customer_owners_userid", "workspace_id", "userid", "ended_at"),
)

# A hand-over of one customer (离职继承 ``resigned`` / 在职转接 ``in_service``), decided before
# WeCom is called: one row per customer and request key, so a retried request transfers nobody twice.
customer_transfers = Table(
    "customer_transfers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # TransferKind: in_service | resigned
    Column("profile_id", BigInteger, nullable=False),
    Column("external_userid", String(128), nullable=False),
    Column("handover_userid", String(64), nullable=False),
    Column("takeover_userid", String(64), nullable=False),
    Column("message", String(200), nullable=True),  # transfer_success_msg shown to the customer
    Column("status", String(16), nullable=False),  # TransferStatus
    Column("errcode", Integer, nullable=True),  # WeCom's per-customer answer, when not 0
    Column("reason", String(64), nullable=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("requested_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("submitted_at", Timestamp, nullable=True),
    Column("takeover_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_customer_transfers_key"),
    Index("ix_customer_transfers_status", "workspace_id", "status"),
    Index("ix_customer_transfers_profile", "workspace_id", "profile_id", "created_at"),
)

# What a staff member did with a task (staff_tasks belongs to journeys): done / skipped, a note.
staff_task_results = Table(
    "staff_task_results",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("task_id", BigInteger, nullable=False),
    Column("userid", String(64), nullable=True),
    Column("status", String(16), nullable=False),  # done | skipped
    Column("note", String(2000), nullable=True),
    Column("at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "task_id"),
)

# An SOP rule: for people in a segment (all of them once, or those entering it, every day), a task
# for their owner.
sop_rules = Table(
    "sop_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("schedule", String(16), nullable=False),  # SopSchedule: once | daily
    Column("title", String(200), nullable=False),
    Column("note", String(2000), nullable=True),
    Column("due_hours", Integer, nullable=False, server_default="24"),
    Column("status", String(16), nullable=False),  # active | paused
    Column("last_run_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Index("ix_sop_rules_ws", "workspace_id", "status"),
)

# --- channel codes (渠道活码) ---------------------------------------------------------------------

# A code per channel: an official-account parametric QR (``wechat_qr``: scene = ``key``) or a WeCom
# contact way (``wecom_contact``: state = ``key``, ≤ 30 characters). ``routing`` decides which staff
# WeCom offers; ``pushed_users`` is the list last given to WeCom (None: never pushed).
channel_codes = Table(
    "channel_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("key", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # CodeKind: wechat_qr | wecom_contact
    Column("status", String(16), nullable=False),  # CodeStatus: active | archived
    Column("expires_at", Timestamp, nullable=True),
    Column("ticket", String(200), nullable=True),
    Column("qr_url", String(500), nullable=True),  # the QR's content (OA) or WeCom's QR image
    Column("config_id", String(64), nullable=True),
    Column("caption", String(200), nullable=True),
    Column("welcome", JSONType, nullable=True),
    Column("tags", JSONType, nullable=True),
    Column("journey_id", Integer, nullable=True),
    Column("routing", JSONType, nullable=True),
    Column("pushed_users", JSONType, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("reward", JSONType, nullable=True),  # a cash reward on arrival: cash_fen, wishing, budget_fen (0018)
    UniqueConstraint("workspace_id", "key", name="uq_channel_codes_key"),
)

# Every scan, follow and add through a code, once per callback event: the statistics, the
# routing's counts (per staff per day) and follow-through are read from here.
channel_code_arrivals = Table(
    "channel_code_arrivals",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("code_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=True),
    Column("kind", String(16), nullable=False),  # ArrivalKind: scan | follow | add
    Column("userid", String(64), nullable=True),  # the member a WeCom add reached
    Column("first_time", Integer, nullable=False, server_default="0"),  # 1: the person had never come before
    Column("at", Timestamp, nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD in the workspace time zone
    Column("event_key", String(200), nullable=False),
    UniqueConstraint("workspace_id", "event_key", name="uq_channel_code_arrivals_key"),
    Index("ix_channel_code_arrivals_code", "workspace_id", "code_id", "day"),
)
