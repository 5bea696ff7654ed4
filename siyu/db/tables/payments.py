"""Tables: cash rewards (red packets) and their budgets (issue 5, part 9)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import Timestamp

# One cash reward (红包), decided before any provider hears of it: ``decided`` → ``sending`` (claimed,
# the bill number fixed) → ``sent`` / ``failed`` / ``uncertain`` (the answer was lost or said
# SYSTEMERROR: the provider is asked before anything is sent again); ``refused`` when siyu itself
# said no (budget spent, the person's daily limit). Unique on the caller's idempotency key, so a
# retried callback decides nothing twice; the bill number (WeChat Pay's ``mch_billno``) never
# changes once set, so a resend can only repeat the same packet, never pay a second one.
rewards = Table(
    "rewards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("reason", String(100), nullable=False),  # what earned it: channel_code:<id>, a campaign, ...
    Column("amount_fen", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # decided | sending | sent | failed | uncertain | refused
    Column("provider", String(32), nullable=False),  # wechat_pay
    Column("wishing", String(128), nullable=False),
    Column("act_name", String(32), nullable=False),
    Column("remark", String(256), nullable=False),
    Column("scene_id", String(32), nullable=True),
    Column("recipient", String(128), nullable=True),  # the openid paid (under the merchant's appid)
    Column("bill_no", String(28), nullable=True),  # mch_billno, fixed at the first claim
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("claimed_at", Timestamp, nullable=True),  # when the current send began (its lease)
    Column("provider_id", String(64), nullable=True),  # send_listid / detail_id
    Column("provider_status", String(16), nullable=True),  # gethbinfo's status: SENT, RECEIVED, REFUND, ...
    Column("error_code", String(64), nullable=True),
    Column("error_detail", String(500), nullable=True),
    Column("decided_at", Timestamp, nullable=False),
    Column("sent_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_rewards_key"),
    UniqueConstraint("workspace_id", "bill_no", name="uq_rewards_bill_no"),
    Index("ix_rewards_due", "workspace_id", "status", "next_attempt_at"),
    Index("ix_rewards_profile", "workspace_id", "profile_id", "decided_at"),
    Index("ix_rewards_reason", "workspace_id", "reason", "id"),
)

# What a reason (a channel code, a campaign) may spend: rewards are decided against it with one
# conditional UPDATE (committed + amount <= budget), and a failed reward gives its amount back.
reward_budgets = Table(
    "reward_budgets",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("reason", String(100), nullable=False),
    Column("budget_fen", BigInteger, nullable=False),
    Column("committed_fen", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "reason", name="uq_reward_budgets_reason"),
)
