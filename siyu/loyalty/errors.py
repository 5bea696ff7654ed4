"""The loyalty capability's errors, each with a stable code (``loyalty.insufficient_points`` …)."""

from __future__ import annotations

from siyu.errors import SiyuError


class LoyaltyError(SiyuError):
    """Bad input to the programme, a tier or a points operation; ``details.field`` names what."""

    code = "loyalty.invalid"
    status = 422


class ProgrammeMissing(LoyaltyError):
    """The workspace has no loyalty programme yet: ``PUT /api/loyalty/programme`` or ``siyu tiers set``."""

    code = "loyalty.no_programme"
    status = 409


class MemberNotFound(LoyaltyError):
    code = "loyalty.member_not_found"
    status = 404


class InsufficientPoints(LoyaltyError):
    """The balance is lower than the points asked for; nothing was spent."""

    code = "loyalty.insufficient_points"
    status = 409


class KeyReused(LoyaltyError):
    """An idempotency key already answered a different request."""

    code = "loyalty.key_reused"
    status = 409
