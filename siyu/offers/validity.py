"""When an offer may issue, and when a claim may be used — pure functions of the template and now."""

from __future__ import annotations

from datetime import datetime, timedelta

from siyu.offers.models import Offer, OfferStatus


def issue_refusal(offer: Offer, now: datetime) -> str | None:
    """Why the offer issues nothing now (ended, or its absolute validity is over), or None.
    A claim before ``valid_from`` is allowed: a coupon may be handed out before it can be used."""
    if offer.status is OfferStatus.ENDED:
        return "The offer has ended."
    if offer.valid_until is not None and now >= offer.valid_until:
        return "The offer's validity is over."
    return None


def claim_window(offer: Offer, claimed_at: datetime) -> tuple[datetime | None, datetime | None]:
    """(valid_from, valid_until) of a claim made at ``claimed_at``: the offer's own dates when absolute,
    ``valid_days`` from the claim when relative, or open when neither is set."""
    if offer.valid_days is not None:
        return claimed_at, claimed_at + timedelta(days=offer.valid_days)
    return offer.valid_from, offer.valid_until


def is_past(valid_until: datetime | None, now: datetime) -> bool:
    """A claim is over at ``valid_until`` exactly (the window is half-open)."""
    return valid_until is not None and now >= valid_until
