"""The offers capability's errors, each with a stable code (``offers.out_of_stock`` …)."""

from __future__ import annotations

from siyu.errors import SiyuError


class OffersError(SiyuError):
    """Bad input to an offer (a template that does not hold together, a malformed code file)."""

    code = "offers.invalid"
    status = 422


class OfferNotFound(OffersError):
    code = "offers.not_found"
    status = 404


class ClaimNotFound(OffersError):
    code = "offers.claim_not_found"
    status = 404


class OutOfStock(OffersError):
    code = "offers.out_of_stock"
    status = 409


class LimitReached(OffersError):
    code = "offers.limit_reached"
    status = 409


class BudgetSpent(OffersError):
    code = "offers.budget_spent"
    status = 409


class OfferExpired(OffersError):
    """The offer has ended or its validity is over: it issues nothing more."""

    code = "offers.expired"
    status = 409


class KeyReused(OffersError):
    """An idempotency key already answered a different request (another offer, another claim)."""

    code = "offers.key_reused"
    status = 409


class NotRedeemable(OffersError):
    """The claim can't be redeemed against this order (used, voided, expired, not yet valid, wrong
    channel or products, below the threshold); ``details.reason`` says which."""

    code = "offers.not_redeemable"
    status = 409


class AlreadyRedeemed(OffersError):
    code = "offers.already_redeemed"
    status = 409


REFUSALS: dict[str, type[OffersError]] = {
    cls.code: cls for cls in (OutOfStock, LimitReached, BudgetSpent, OfferExpired, OfferNotFound)
}


def refusal(code: str, message: str, **details: object) -> OffersError:
    """The error for a refusal code (as stored on a refused claim), so a repeated key raises it again."""
    return REFUSALS.get(code, OffersError)(message, code=code, details=dict(details))
