"""Tables: promoters (staff and KOC), their link touches, the commission plan and the commission
ledger with its payouts (issue 6, part 5)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# A promoter (分销员): a staff member (全员营销) or a KOC customer, with an unguessable link token
# (``/p/<token>``) and at most one parent — who may not have a parent of their own (two levels, the
# legal limit; siyu.growth.distribution_rules). One promoter per staff member and per profile.
promoters = Table(
    "promoters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # PromoterKind: staff | koc
    Column("staff_id", Integer, nullable=True),
    Column("profile_id", BigInteger, nullable=True),
    Column("name", String(100), nullable=False),
    Column("parent_id", Integer, nullable=True),
    Column("token", String(32), nullable=False),
    Column("landing_url", String(1000), nullable=False),
    Column("products", JSONType, nullable=True),  # [{"name", "url", "price"}] shown on the personal page
    Column("status", String(16), nullable=False),  # PromoterStatus: active | disabled
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("token", name="uq_promoters_token"),
    UniqueConstraint("workspace_id", "staff_id", name="uq_promoters_staff"),
    UniqueConstraint("workspace_id", "profile_id", name="uq_promoters_profile"),
    Index("ix_promoters_parent", "workspace_id", "parent_id"),
)

# One visit through a promoter's link: who came (the signed first-party visitor id, and the profile
# when the visitor was already known) and when. ``ref`` is the touch's own random id, handed on to
# the landing page as ``siyu_ref`` so a shop can echo it on the order.
promoter_touches = Table(
    "promoter_touches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("promoter_id", Integer, nullable=False),
    Column("ref", String(32), nullable=False),
    Column("visitor_id", String(64), nullable=False),
    Column("profile_id", BigInteger, nullable=True),
    Column("touched_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "ref", name="uq_promoter_touches_ref"),
    Index("ix_promoter_touches_visitor", "workspace_id", "visitor_id", "touched_at"),
    Index("ix_promoter_touches_profile", "workspace_id", "profile_id", "touched_at"),
    Index("ix_promoter_touches_promoter", "workspace_id", "promoter_id", "touched_at"),
)

# The workspace's commission plan (rates per level, attribution window, refund window) as one
# validated JSON document; ``version`` counts its changes.
commission_plans = Table(
    "commission_plans",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("rules", JSONType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", name="uq_commission_plans_workspace"),
)

# The commission ledger: one row per (order, promoter, level, kind), so reprocessing the log never
# writes a second. ``commission`` rows go pending → confirmed (after ``confirm_after``, the refund
# window) → paid (by a payout), or → reversed when the order is refunded before payment; a refund
# after payment adds one ``adjustment`` row with the negative amount and never edits the paid row.
commissions = Table(
    "commissions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("promoter_id", Integer, nullable=False),
    Column("level", Integer, nullable=False),  # 1: the promoter of the touch; 2: their parent
    Column("kind", String(16), nullable=False),  # EntryKind: commission | adjustment
    Column("status", String(16), nullable=False),  # CommissionStatus: pending | confirmed | paid | reversed
    Column("amount_fen", BigInteger, nullable=False),
    Column("base_fen", BigInteger, nullable=False),  # the order amount the rates applied to
    Column("buyer_profile_id", BigInteger, nullable=True),
    Column("event_id", BigInteger, nullable=False),  # the Order Completed (or Refunded) entry of the log
    Column("touch_id", BigInteger, nullable=True),
    Column("detail", JSONType, nullable=True),  # the lines and the rates that applied
    Column("ordered_at", Timestamp, nullable=False),
    Column("confirm_after", Timestamp, nullable=False),
    Column("confirmed_at", Timestamp, nullable=True),
    Column("paid_at", Timestamp, nullable=True),
    Column("reversed_at", Timestamp, nullable=True),
    Column("payout_id", Integer, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "order_id", "promoter_id", "level", "kind", name="uq_commissions_key"),
    Index("ix_commissions_due", "workspace_id", "status", "confirm_after"),
    Index("ix_commissions_promoter", "workspace_id", "promoter_id", "created_at"),
    Index("ix_commissions_order", "workspace_id", "order_id"),
)

# A payout batch: every confirmed row (of one promoter, or of all) marked paid under the caller's
# idempotency key; the same key again returns the same batch and pays nothing more.
commission_payouts = Table(
    "commission_payouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("promoter_id", Integer, nullable=True),
    Column("total_fen", BigInteger, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_commission_payouts_key"),
)
