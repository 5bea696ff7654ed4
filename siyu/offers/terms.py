"""Whether an offer template holds together, kind by kind, before anything is written.

A template is checked as plain data so the API, the CLI and the console all refuse the same
things with the same words. What one claim costs a campaign's budget defaults to what the brand
gives away in money (the amount off, the red packet) and is set explicitly for the other kinds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, assert_never

from siyu.offers.errors import OffersError
from siyu.offers.models import AMOUNT_KINDS, Offer, OfferKind

MAX_STOCK = 100_000_000
MAX_FEN = 2**31 - 1  # the amount columns are 32-bit integers
RED_PACKET_FEN = (100, 20_000)  # WeChat Pay's cash red packet: 1-200 yuan without a scene id


def _need(values: dict[str, Any], field: str, low: int, high: int, why: str) -> None:
    value = values.get(field)
    if value is None or not isinstance(value, int) or not low <= value <= high:
        raise OffersError(f"'{field}' is {why} ({low}-{high}).", details={"field": field})


def _text(values: dict[str, Any], field: str, why: str) -> None:
    value = values.get(field)
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 100:
        raise OffersError(f"'{field}' is {why} (1-100 characters).", details={"field": field})


def _may(values: dict[str, Any], field: str, low: int, high: int, why: str) -> None:
    if values.get(field) is not None:
        _need(values, field, low, high, why)


def check_kind(kind: OfferKind, values: dict[str, Any]) -> None:
    """The fields each kind needs; raises :class:`OffersError` naming the field.

    A coupon's face value may be left out (the interface contract creates an offer from ``name``,
    ``kind``, ``stock`` and ``per_person_limit`` alone: the shop's own system may know what the code
    is worth); when given it is checked, and redemption uses it. A reward siyu itself delivers
    (points, a red packet, a gift) can't be created without what it gives."""
    match kind:
        case OfferKind.FIXED_AMOUNT:
            _may(values, "amount_fen", 1, 10**9, "the amount off in fen")
        case OfferKind.PERCENTAGE:
            _may(values, "percent_off", 1, 99, "the percentage off")
        case OfferKind.THRESHOLD:
            _may(values, "threshold_fen", 1, 10**9, "the least order amount in fen")
            _may(values, "amount_fen", 1, values.get("threshold_fen") or 10**9, "the amount off, at most the threshold")
        case OfferKind.FREE_GIFT:
            if values.get("gift_name") is not None:
                _text(values, "gift_name", "the gift's name")
        case OfferKind.PHYSICAL_GIFT:
            _text(values, "gift_name", "the gift's name")
        case OfferKind.POINTS:
            _need(values, "points", 1, 10**7, "the points given")
        case OfferKind.RED_PACKET:
            _need(values, "amount_fen", *RED_PACKET_FEN, "the red packet's amount in fen")
        case _:
            assert_never(kind)


def check_validity(valid_from: datetime | None, valid_until: datetime | None, valid_days: int | None) -> None:
    """Absolute (``valid_until``, optionally ``valid_from``) or relative (``valid_days``), not both."""
    if valid_days is not None and (valid_from is not None or valid_until is not None):
        raise OffersError("Validity is either absolute (valid_from/valid_until) or relative (valid_days), not both.",
                          details={"field": "valid_days"})
    if valid_days is not None and not 1 <= valid_days <= 3660:
        raise OffersError("'valid_days' is 1-3660.", details={"field": "valid_days"})
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise OffersError("'valid_until' must be after 'valid_from'.", details={"field": "valid_until"})


def _aware(value: Any) -> Any:
    """A date-time without a zone is taken as UTC (as the database stores it), so comparisons hold."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def default_cost(kind: OfferKind, values: dict[str, Any]) -> int:
    """What one claim takes from a campaign budget when the template does not say: the money given away."""
    if kind in (OfferKind.FIXED_AMOUNT, OfferKind.THRESHOLD, OfferKind.RED_PACKET):
        return int(values.get("amount_fen") or 0)
    return 0


def check_offer(values: dict[str, Any]) -> dict[str, Any]:
    """The template as it will be stored, or :class:`OffersError`. ``values`` holds the API's fields."""
    try:
        kind = OfferKind(str(values.get("kind")))
    except ValueError:
        raise OffersError(f"'kind' is one of {', '.join(OfferKind)}.", details={"field": "kind"}) from None
    _text(values, "name", "the offer's name")
    _need(values, "stock", 0, MAX_STOCK, "the total stock")
    _need(values, "per_person_limit", 1, 10_000, "how many one person may claim")
    check_kind(kind, values)
    values = {**values, **{field: _aware(values.get(field)) for field in ("valid_from", "valid_until")}}
    check_validity(values.get("valid_from"), values.get("valid_until"), values.get("valid_days"))
    for field in ("channels", "products"):
        listed = values.get(field)
        if listed is not None and (not isinstance(listed, list) or not listed
                                   or not all(isinstance(x, str) and 0 < len(x) <= 100 for x in listed)):
            raise OffersError(f"'{field}' is a non-empty list of names, or null for any.", details={"field": field})
    cost = values.get("cost_fen")
    if cost is None:
        cost = default_cost(kind, values)
    elif not isinstance(cost, int) or not 0 <= cost <= 10**9:
        raise OffersError("'cost_fen' is 0-1000000000.", details={"field": "cost_fen"})
    return {**values, "kind": kind.value, "cost_fen": cost, "name": values["name"].strip()}


def face_value_bounds(offer: Offer) -> tuple[int, int] | None:
    """The face values one claim of ``offer`` may carry of its own (the least and the most, in fen), or
    None when the offer's value is not an amount (:data:`~siyu.offers.models.AMOUNT_KINDS`): a claim's
    value stays within what the template itself could have said — a threshold coupon's amount off is at
    most its threshold, and a red packet is 1-200 yuan because WeChat Pay pays no other amount."""
    match offer.kind:
        case OfferKind.FIXED_AMOUNT:
            return 1, MAX_FEN
        case OfferKind.THRESHOLD:
            return 1, offer.threshold_fen or MAX_FEN
        case OfferKind.RED_PACKET:
            return RED_PACKET_FEN
        case OfferKind.PERCENTAGE | OfferKind.FREE_GIFT | OfferKind.POINTS | OfferKind.PHYSICAL_GIFT:
            return None
        case _:
            assert_never(offer.kind)


def check_face_value(offer: Offer, amount_fen: int) -> None:
    """A claim's own face value, or :class:`OffersError` ``offers.face_value`` (422): the offer's kind has
    no amount to replace, or the value is outside :func:`face_value_bounds`."""
    bounds = face_value_bounds(offer)
    if bounds is None:
        raise OffersError(f"A {offer.kind.value} offer's value is not an amount: a claim of it can't carry its "
                          f"own (use a {' or '.join(k.value for k in AMOUNT_KINDS)} offer).",
                          code="offers.face_value", details={"offer_id": offer.id, "kind": offer.kind.value})
    low, high = bounds
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not low <= amount_fen <= high:
        raise OffersError(f"A claim of this {offer.kind.value} offer is worth {low}-{high} fen, not {amount_fen}.",
                          code="offers.face_value", details={"offer_id": offer.id, "kind": offer.kind.value,
                                                             "amount_fen": amount_fen, "allowed": [low, high]})


def claim_cost(offer: Offer, amount_fen: int | None) -> int:
    """What one claim takes from a campaign budget: the offer's ``cost_fen``; for a claim with a face value
    of its own, that cost scaled to the face value (``cost × face ÷ amount``, rounded up so the budget is
    never under-counted), or the face value itself when the template names no amount — the money given
    away, as :func:`default_cost` says for the template."""
    if amount_fen is None:
        return offer.cost_fen
    if not offer.amount_fen:
        return amount_fen
    return -(-offer.cost_fen * amount_fen // offer.amount_fen)
