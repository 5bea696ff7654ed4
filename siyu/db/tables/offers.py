"""Tables: offers (coupon and reward templates), their code pools, claims and campaign budgets
(issue 6, parts 1-2).

Why no offer is over-issued, whatever the concurrency (the argument in full is in
:mod:`siyu.offers.store`): ``offers.claimed`` only moves by a conditional ``UPDATE … WHERE claimed <
stock``; a person's count in ``offer_holdings`` only by an upsert whose update is guarded by the
per-person limit; a campaign's ``spent_fen`` only by ``UPDATE … WHERE spent_fen + cost <= budget``;
and every claim attempt is one ``offer_claims`` row unique on the caller's idempotency key.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# One coupon or reward template. ``claimed`` counts live claims (claimed, redeemed, expired); a void
# gives its unit back. Validity is absolute (``valid_from``/``valid_until``) or relative to the claim
# (``valid_days``). ``channels`` / ``products`` (JSON lists, null = any) restrict redemption.
offers = Table(
    "offers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # fixed_amount | percentage | threshold | free_gift | points | ...
    Column("status", String(16), nullable=False),  # active | ended
    Column("stock", Integer, nullable=False),
    Column("claimed", Integer, nullable=False),
    Column("redeemed", Integer, nullable=False),
    Column("per_person_limit", Integer, nullable=False),
    Column("amount_fen", Integer, nullable=True),  # fixed, threshold discount, red packet
    Column("percent_off", Integer, nullable=True),  # percentage: 1-99
    Column("threshold_fen", Integer, nullable=True),  # the least order amount (满 X)
    Column("points", Integer, nullable=True),
    Column("gift_name", String(100), nullable=True),  # free gift, physical gift
    Column("valid_from", Timestamp, nullable=True),
    Column("valid_until", Timestamp, nullable=True),
    Column("valid_days", Integer, nullable=True),
    Column("channels", JSONType, nullable=True),
    Column("products", JSONType, nullable=True),
    Column("campaign_id", BigInteger, nullable=True),
    Column("cost_fen", Integer, nullable=False),  # what one claim takes from the campaign's budget
    Column("code_source", String(16), nullable=False),  # generated | pool
    Column("description", String(500), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Index("ix_offers_workspace", "workspace_id", "id"),
)

# Codes generated in a batch or imported from a CSV, handed out one per claim (``claim_id`` set).
offer_codes = Table(
    "offer_codes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("offer_id", BigInteger, nullable=False),
    Column("code", String(64), nullable=False),
    Column("claim_id", BigInteger, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "code", name="uq_offer_codes_code"),
    Index("ix_offer_codes_free", "workspace_id", "offer_id", "claim_id"),
)

# How many claims of one offer one person has (voided ones excepted): the per-person limit's counter row.
offer_holdings = Table(
    "offer_holdings",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("offer_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("held", Integer, nullable=False),
    UniqueConstraint("workspace_id", "offer_id", "profile_id", name="uq_offer_holdings_person"),
)

# Every claim attempt, unique on the caller's key: a granted claim (claimed → redeemed / voided /
# expired) carries a unique code; a refused one keeps its error code so the same key answers the same.
offer_claims = Table(
    "offer_claims",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("offer_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # pending | claimed | redeemed | voided | expired | refused
    Column("code", String(64), nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("channel", String(64), nullable=True),
    Column("campaign_id", BigInteger, nullable=True),
    Column("cost_fen", Integer, nullable=False),
    # The claim's own face value (a split coupon's share, what a bargain cut off): what the coupon takes
    # off or the red packet pays, in place of the offer's ``amount_fen``; null = the offer's.
    Column("amount_fen", Integer, nullable=True),
    Column("points", Integer, nullable=True),
    Column("reward_id", BigInteger, nullable=True),  # the cash reward decided in siyu.payments
    Column("delivery", JSONType, nullable=True),  # physical gift: name, phone, address
    Column("fulfilment", String(16), nullable=True),  # physical gift: pending | shipped | delivered
    Column("claimed_at", Timestamp, nullable=False),
    Column("valid_from", Timestamp, nullable=True),
    Column("valid_until", Timestamp, nullable=True),
    Column("redeem_key", String(200), nullable=True),
    Column("order_id", String(100), nullable=True),
    Column("order_amount_fen", BigInteger, nullable=True),
    Column("discount_fen", BigInteger, nullable=True),
    Column("redeemed_at", Timestamp, nullable=True),
    Column("void_reason", String(200), nullable=True),
    Column("ended_at", Timestamp, nullable=True),  # voided or expired
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_offer_claims_key"),
    UniqueConstraint("workspace_id", "code", name="uq_offer_claims_code"),
    Index("ix_offer_claims_offer", "workspace_id", "offer_id", "status", "id"),
    Index("ix_offer_claims_profile", "workspace_id", "profile_id", "id"),
    Index("ix_offer_claims_due", "workspace_id", "status", "valid_until"),
)

# What a campaign may spend on offers: claims take ``cost_fen`` from it with one conditional UPDATE.
offer_budgets = Table(
    "offer_budgets",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("campaign_id", BigInteger, nullable=False),
    Column("budget_fen", BigInteger, nullable=False),
    Column("spent_fen", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "campaign_id", name="uq_offer_budgets_campaign"),
)
