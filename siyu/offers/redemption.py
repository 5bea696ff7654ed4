"""Whether a claim may be used on an order, and what it takes off — a pure decision.

The order is what the caller (a shop, a POS, the mini program) says it is: its amount in fen, the
channel it was placed in and the products in it. Restrictions: the claim must be live and inside its
window; the offer's channel list, if any, must name the order's channel; its product list, if any,
must share a product with the order; a threshold coupon needs an order of at least its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

from siyu.offers.models import Claim, ClaimStatus, Offer, OfferKind


@dataclass(frozen=True)
class Order:
    order_id: str
    amount_fen: int
    channel: str | None = None
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None  # a stable word: used, voided, expired, not_yet_valid, channel, product, threshold
    message: str = ""
    discount_fen: int = 0


def face_value(offer: Offer, claim: Claim | None = None) -> int | None:
    """What one claim of ``offer`` is worth in fen: the claim's own face value when it has one (a split
    coupon's share, what a bargain cut off), else the offer's ``amount_fen``; None for a kind whose value
    is not an amount (a percentage, a gift, points) or a coupon whose amount the shop's system knows."""
    if claim is not None and claim.amount_fen is not None:
        return claim.amount_fen
    return offer.amount_fen


def discount(offer: Offer, amount_fen: int, claim: Claim | None = None) -> int:
    """What the offer — or ``claim`` of it, at its own face value — takes off an order of ``amount_fen``
    (never more than the order)."""
    match offer.kind:
        case OfferKind.FIXED_AMOUNT | OfferKind.THRESHOLD:
            return min(face_value(offer, claim) or 0, amount_fen)
        case OfferKind.PERCENTAGE:
            return amount_fen * (offer.percent_off or 0) // 100  # rounded down: never more than promised
        case OfferKind.FREE_GIFT | OfferKind.POINTS | OfferKind.RED_PACKET | OfferKind.PHYSICAL_GIFT:
            return 0
        case _:
            assert_never(offer.kind)


def decide(offer: Offer, claim: Claim, order: Order, now: datetime) -> Decision:
    if claim.status is not ClaimStatus.CLAIMED:
        word = {ClaimStatus.REDEEMED: "used", ClaimStatus.VOIDED: "voided",
                ClaimStatus.EXPIRED: "expired"}.get(claim.status, "not_claimed")
        return Decision(False, word, f"The coupon is {claim.status.value}.")
    if claim.valid_from is not None and now < claim.valid_from:
        return Decision(False, "not_yet_valid", f"The coupon is valid from {claim.valid_from.isoformat()}.")
    if claim.valid_until is not None and now >= claim.valid_until:
        return Decision(False, "expired", f"The coupon was valid until {claim.valid_until.isoformat()}.")
    if offer.channels is not None and order.channel not in offer.channels:
        return Decision(False, "channel", f"The coupon is for orders in {', '.join(offer.channels)}.")
    if offer.products is not None and not set(order.products) & set(offer.products):
        return Decision(False, "product", "The order has none of the coupon's products.")
    if offer.kind is OfferKind.THRESHOLD and order.amount_fen < (offer.threshold_fen or 0):
        return Decision(False, "threshold",
                        f"The coupon needs an order of at least {(offer.threshold_fen or 0) / 100:.2f} yuan.")
    return Decision(True, discount_fen=discount(offer, order.amount_fen, claim))
