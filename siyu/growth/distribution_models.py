"""Distribution values: promoters, touches, the commission plan and the ledger's rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class PromoterKind(StrEnum):
    STAFF = "staff"  # 全员营销: a staff member (siyu.staff) with a personal link
    KOC = "koc"  # a key opinion customer: a profile with a personal link


class PromoterStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # the link still leads on; no new touch is counted and no order attributed


class EntryKind(StrEnum):
    COMMISSION = "commission"  # earned on an attributed order
    ADJUSTMENT = "adjustment"  # a refund after payment: the negative of a paid commission


class CommissionStatus(StrEnum):
    PENDING = "pending"  # the order is inside its refund window
    CONFIRMED = "confirmed"  # the refund window passed: owed, waiting for a payout
    PAID = "paid"  # in a payout batch
    REVERSED = "reversed"  # the order was refunded before payment


@dataclass(frozen=True)
class Rate:
    """A rate for one product (``product_id``) or one category; the product's wins."""

    rate: Decimal
    product_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Level:
    default_rate: Decimal
    rates: tuple[Rate, ...] = ()


@dataclass(frozen=True)
class Plan:
    levels: tuple[Level, ...] = (Level(Decimal("0.10")),)
    attribution_days: int = 7
    refund_days: int = 7

    def to_dict(self) -> dict[str, Any]:
        return {"levels": [{"default_rate": str(level.default_rate),
                            "rates": [{k: (str(v) if isinstance(v, Decimal) else v)
                                       for k, v in (("product_id", r.product_id), ("category", r.category),
                                                    ("rate", r.rate)) if v is not None} for r in level.rates]}
                           for level in self.levels],
                "attribution_days": self.attribution_days, "refund_days": self.refund_days}


@dataclass(frozen=True)
class Touch:
    id: int
    promoter_id: int
    touched_at: datetime


@dataclass(frozen=True)
class Line:
    amount_fen: int
    product_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Order:
    """An ``Order Completed`` entry of the log, as attribution and the rates read it."""

    order_id: str
    event_id: int
    ordered_at: datetime
    total_fen: int
    lines: tuple[Line, ...] = ()
    profile_id: int | None = None
    anonymous_id: str | None = None
    ref: str | None = None  # properties.siyu_ref: the touch the shop carried over


@dataclass(frozen=True)
class Share:
    """What one promoter earns on one order at one level."""

    promoter_id: int
    level: int
    amount_fen: int
    base_fen: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Promoter:
    id: int
    kind: PromoterKind
    staff_id: int | None
    profile_id: int | None
    name: str
    parent_id: int | None
    token: str
    landing_url: str
    products: list[dict[str, Any]]
    status: PromoterStatus
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {name: (value.value if isinstance(value, StrEnum) else value)
                for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class Commission:
    id: int
    order_id: str
    promoter_id: int
    level: int
    kind: EntryKind
    status: CommissionStatus
    amount_fen: int
    base_fen: int
    buyer_profile_id: int | None
    event_id: int
    touch_id: int | None
    detail: dict[str, Any] | None
    ordered_at: datetime
    confirm_after: datetime
    confirmed_at: datetime | None
    paid_at: datetime | None
    reversed_at: datetime | None
    payout_id: int | None
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {name: (value.value if isinstance(value, StrEnum) else value)
                for name, value in self.__dict__.items()}
