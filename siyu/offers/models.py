"""Offers and claims as the capability hands them out."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class OfferKind(StrEnum):
    FIXED_AMOUNT = "fixed_amount"  # 立减: amount_fen off
    PERCENTAGE = "percentage"  # 折扣: percent_off % off
    THRESHOLD = "threshold"  # 满减: amount_fen off an order of at least threshold_fen
    FREE_GIFT = "free_gift"  # 赠品 with an order: gift_name
    POINTS = "points"  # 积分: points credited on claim (a ``Points Earned`` event)
    RED_PACKET = "red_packet"  # 红包: amount_fen paid through siyu.payments
    PHYSICAL_GIFT = "physical_gift"  # 实物: gift_name delivered to the claim's delivery details


COUPON_KINDS = (OfferKind.FIXED_AMOUNT, OfferKind.PERCENTAGE, OfferKind.THRESHOLD, OfferKind.FREE_GIFT)
# The kinds whose value is an amount of money: a claim of one may carry a face value of its own.
AMOUNT_KINDS = (OfferKind.FIXED_AMOUNT, OfferKind.THRESHOLD, OfferKind.RED_PACKET)


class OfferStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"  # issues nothing more; claims already made stay as they are


class CodeSource(StrEnum):
    GENERATED = "generated"  # a fresh random code per claim
    POOL = "pool"  # codes generated in a batch or imported beforehand, one handed out per claim


class ClaimStatus(StrEnum):
    PENDING = "pending"  # only inside the claiming transaction: the key is taken, the answer not yet written
    CLAIMED = "claimed"
    REDEEMED = "redeemed"
    VOIDED = "voided"  # its unit went back to stock, the person's limit and the budget
    EXPIRED = "expired"  # validity over before use; its unit stays issued
    REFUSED = "refused"  # the attempt was refused; ``error_code`` says why, and the key answers it again


class Fulfilment(StrEnum):
    PENDING = "pending"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


@dataclass(frozen=True)
class Offer:
    id: int
    name: str
    kind: OfferKind
    status: OfferStatus
    stock: int
    claimed: int
    redeemed: int
    per_person_limit: int
    amount_fen: int | None
    percent_off: int | None
    threshold_fen: int | None
    points: int | None
    gift_name: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    channels: list[str] | None
    products: list[str] | None
    campaign_id: int | None
    cost_fen: int
    code_source: CodeSource
    description: str
    created_at: datetime
    updated_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.stock - self.claimed, 0)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)} | {"remaining": self.remaining}


@dataclass(frozen=True)
class Claim:
    id: int
    offer_id: int
    profile_id: int
    code: str | None  # None only on a refused attempt
    status: ClaimStatus
    claimed_at: datetime
    valid_until: datetime | None
    valid_from: datetime | None = None
    idempotency_key: str = ""
    error_code: str | None = None
    channel: str | None = None
    campaign_id: int | None = None
    cost_fen: int = 0
    amount_fen: int | None = None  # its own face value (a split share); None: the offer's amount_fen
    points: int | None = None
    reward_id: int | None = None
    delivery: dict[str, Any] | None = None
    fulfilment: Fulfilment | None = None
    redeem_key: str | None = None
    order_id: str | None = None
    order_amount_fen: int | None = None
    discount_fen: int | None = None
    redeemed_at: datetime | None = None
    void_reason: str | None = None
    ended_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
