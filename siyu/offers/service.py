"""The offers capability's public functions: create an offer, claim it, redeem, void and expire
claims. Growth campaigns, journeys and loyalty call these inside their own write transaction
(:func:`siyu.db.engine.write`); the API and CLI are thin wrappers.

A claim is one row unique on (workspace, idempotency key), taken first; then the person's limit and
a code, and last the campaign budget and the stock (the rows every claimer updates, so their locks
are held only until the commit), each counter by a guarded statement (the concurrency argument is
in :mod:`siyu.offers.store`). A refused attempt undoes what it took, is written ``refused`` with its
code and raises; **the same key later raises the same refusal** (the issue: "repeating a key returns
the first answer and claims nothing more"), as long as the transaction that saw the refusal commits —
the API and CLI commit it; a caller that rolls back on the error leaves no trace, and its key is free.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.offers import codes, fulfilment, redemption, store, terms, validity
from siyu.offers.errors import (
    AlreadyRedeemed,
    BudgetSpent,
    KeyReused,
    LimitReached,
    NotRedeemable,
    OfferExpired,
    OffersError,
    OutOfStock,
    refusal,
)
from siyu.offers.models import Claim, ClaimStatus, CodeSource, Fulfilment, Offer, OfferKind, OfferStatus


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not 0 < len(key) <= 200:
        raise OffersError("'idempotency_key' is 1-200 characters.", details={"field": "idempotency_key"})


def create_offer(conn: Connection, workspace_id: int, values: dict[str, Any], *, now: datetime) -> Offer:
    """A new active offer from the template ``values`` (checked by :func:`siyu.offers.terms.check_offer`)."""
    checked = terms.check_offer(values)
    checked.setdefault("code_source", CodeSource.GENERATED.value)
    checked["description"] = (checked.get("description") or "")[:500]
    known = {"name", "kind", "stock", "per_person_limit", "amount_fen", "percent_off", "threshold_fen", "points",
             "gift_name", "valid_from", "valid_until", "valid_days", "channels", "products", "campaign_id",
             "cost_fen", "code_source", "description"}
    return store.insert_offer(conn, workspace_id, {k: checked.get(k) for k in known}, now)


def end_offer(conn: Connection, workspace_id: int, offer_id: int, *, now: datetime) -> Offer:
    """Stop issuing (claims already made stay usable until their own validity ends)."""
    store.get_offer(conn, workspace_id, offer_id)
    store.update_offer(conn, workspace_id, offer_id, now, status=OfferStatus.ENDED.value)
    return store.get_offer(conn, workspace_id, offer_id)


def claim_offer(conn: Connection, workspace_id: int, offer_id: int, *, profile_id: int, idempotency_key: str,
                now: datetime, channel: str | None = None, campaign_id: int | None = None,
                delivery: dict[str, Any] | None = None, amount_fen: int | None = None,
                cost_fen: int | None = None) -> Claim:
    """Give the person one unit of the offer, or raise an :class:`OffersError` whose ``code`` is
    ``offers.out_of_stock``, ``offers.limit_reached``, ``offers.budget_spent``, ``offers.not_found`` or
    ``offers.expired``. ``campaign_id`` names the budget to spend (the offer's own when None); the same
    ``idempotency_key`` again returns the first claim, or raises the first refusal, and takes nothing.

    ``amount_fen`` gives this claim a face value of its own — what a fission campaign's rules decided it
    is worth (a split coupon's share): the coupon takes that off, a red packet pays it. Only an offer
    whose value is an amount takes one (``offers.face_value`` otherwise, before anything is taken). The
    claim's cost to the budget is ``cost_fen`` when given, else :func:`siyu.offers.terms.claim_cost`."""
    _check_key(idempotency_key)
    offer = store.get_offer(conn, workspace_id, offer_id)
    checked_delivery = fulfilment.check_delivery(delivery)
    if amount_fen is not None:
        terms.check_face_value(offer, amount_fen)
    if cost_fen is not None and (isinstance(cost_fen, bool) or not 0 <= cost_fen <= terms.MAX_FEN):
        raise OffersError(f"'cost_fen' is 0-{terms.MAX_FEN}.", details={"field": "cost_fen"})
    cost = cost_fen if cost_fen is not None else terms.claim_cost(offer, amount_fen)
    budget = campaign_id if campaign_id is not None else offer.campaign_id
    claim_id = store.take_key(conn, workspace_id, offer_id=offer_id, profile_id=profile_id, key=idempotency_key,
                              now=now, channel=channel, campaign_id=budget, cost_fen=cost, amount_fen=amount_fen)
    if claim_id is None:
        return repeat_answer(conn, workspace_id, offer_id, profile_id, idempotency_key)
    ended = validity.issue_refusal(offer, now)
    if ended is not None:
        _refuse(conn, workspace_id, claim_id, OfferExpired(ended, details={"offer_id": offer_id}), now)
    if offer.claimed >= offer.stock:
        # Sold out when this transaction read the offer: refused at once, no counter touched (in a flash
        # sale most attempts come after the last unit). A unit a void frees meanwhile is not missed by
        # anyone in particular: this attempt simply came when there was none.
        _refuse(conn, workspace_id, claim_id, sold_out(offer), now)
    if not store.take_holding(conn, workspace_id, offer_id, profile_id, offer.per_person_limit):
        _refuse(conn, workspace_id, claim_id, limit_reached(offer), now)
    code = _code_for(conn, workspace_id, offer, claim_id, profile_id, now)
    valid_from, valid_until = validity.claim_window(offer, now)
    values: dict[str, Any] = {"status": ClaimStatus.CLAIMED.value, "code": code, "valid_from": valid_from,
                              "valid_until": valid_until, "delivery": checked_delivery}
    if offer.kind is OfferKind.POINTS:
        values["points"] = offer.points
    if offer.kind is OfferKind.PHYSICAL_GIFT:
        values["fulfilment"] = Fulfilment.PENDING.value
    granted = store.finish_claim(conn, workspace_id, claim_id, now, **values)
    _take_shared_units(conn, workspace_id, offer, granted, budget, now)
    extra = fulfilment.on_claim(conn, workspace_id, offer, granted, now)
    return store.finish_claim(conn, workspace_id, claim_id, now, **extra) if extra else granted


def limit_reached(offer: Offer) -> LimitReached:
    return LimitReached(f"The person already claimed {offer.per_person_limit} of this offer, its per-person limit.",
                        details={"offer_id": offer.id, "per_person_limit": offer.per_person_limit})


def sold_out(offer: Offer) -> OutOfStock:
    return OutOfStock(f"All {offer.stock} of the offer are claimed.",
                      details={"offer_id": offer.id, "stock": offer.stock})


def _code_for(conn: Connection, workspace_id: int, offer: Offer, claim_id: int, profile_id: int,
              now: datetime) -> str:
    """A fresh code, or one from the offer's pool (``offers.out_of_stock`` when the pool is dry)."""
    if offer.code_source is CodeSource.GENERATED:
        return _fresh_code(conn, workspace_id)
    code = store.take_pool_code(conn, workspace_id, offer.id, claim_id)
    if code is None:
        store.release_holding(conn, workspace_id, offer.id, profile_id)
        _refuse(conn, workspace_id, claim_id, OutOfStock(
            "The offer's code pool is empty: add codes to it.", details={"offer_id": offer.id, "pool": 0}), now)
    return code  # type: ignore[return-value]


def _take_shared_units(conn: Connection, workspace_id: int, offer: Offer, claim: Claim, budget: int | None,
                       now: datetime) -> None:
    """The campaign budget, then the stock: the rows every claimer of the offer updates, so they come
    last, right before the commit — a row lock is held from its UPDATE to the end of the transaction,
    and the shorter that is, the more claims per second one hot offer takes on PostgreSQL. A refusal
    gives back everything this attempt took (its person, pool code and budget) and raises."""
    spends = budget is not None and claim.cost_fen > 0
    if budget is not None and spends and store.spend_budget(conn, workspace_id, budget, claim.cost_fen, now) is False:
        _give_back(conn, workspace_id, offer, claim)
        _refuse(conn, workspace_id, claim.id, BudgetSpent(
            f"The budget of campaign {budget} is spent.", details={"offer_id": offer.id, "campaign_id": budget}), now)
    if not store.take_stock(conn, workspace_id, offer.id, now):
        if budget is not None and spends:
            store.refund_budget(conn, workspace_id, budget, claim.cost_fen, now)
        _give_back(conn, workspace_id, offer, claim)
        _refuse(conn, workspace_id, claim.id, sold_out(offer), now)


def _give_back(conn: Connection, workspace_id: int, offer: Offer, claim: Claim) -> None:
    store.release_holding(conn, workspace_id, offer.id, claim.profile_id)
    if offer.code_source is CodeSource.POOL:
        store.free_pool_code(conn, workspace_id, claim.id)  # taken in this transaction: nobody has seen it


def _fresh_code(conn: Connection, workspace_id: int) -> str:
    """A random code no claim or pool of the workspace has (59 bits: a clash is ~never; checked anyway,
    so an imported code can't be issued twice)."""
    while True:
        code = codes.generate_code()
        if not store.code_taken(conn, workspace_id, code):
            return code


def _refuse(conn: Connection, workspace_id: int, claim_id: int, error: OffersError, now: datetime) -> None:
    store.finish_claim(conn, workspace_id, claim_id, now, status=ClaimStatus.REFUSED.value, error_code=error.code,
                       code=None, valid_from=None, valid_until=None, delivery=None, points=None, fulfilment=None,
                       amount_fen=None)
    raise error


def repeat_answer(conn: Connection, workspace_id: int, offer_id: int, profile_id: int, key: str) -> Claim:
    """The first answer of ``key``: its claim, or its refusal raised again."""
    first = store.claim_by_key(conn, workspace_id, key)
    if first.offer_id != offer_id or first.profile_id != profile_id:
        raise KeyReused("This idempotency key was used for another claim; use a new key for a new claim.",
                        details={"idempotency_key": key, "offer_id": first.offer_id})
    if first.status is ClaimStatus.REFUSED:
        raise refusal(first.error_code or "offers.invalid", "This key was refused before; the answer stands.",
                      offer_id=offer_id, repeated=True)
    return first


def void_claim(conn: Connection, workspace_id: int, claim_id: int, *, reason: str, now: datetime) -> Claim:
    """Cancel an unused claim: its unit goes back to the stock, the person's limit and the campaign
    budget. Voiding a voided claim returns it unchanged; a used or expired one can't be voided, nor
    a red packet (cash once decided is the payments ledger's to settle)."""
    claim = store.get_claim(conn, workspace_id, claim_id)
    if claim.status is ClaimStatus.VOIDED:
        return claim
    offer = store.get_offer(conn, workspace_id, claim.offer_id)
    if claim.status is not ClaimStatus.CLAIMED or offer.kind is OfferKind.RED_PACKET:
        raise OffersError(f"A {claim.status.value} {offer.kind.value} claim can't be voided.",
                          code="offers.not_voidable", status=409, details={"claim_id": claim_id})
    if not store.update_claim(conn, workspace_id, claim_id, now, expect=ClaimStatus.CLAIMED,
                              status=ClaimStatus.VOIDED.value, void_reason=reason[:200], ended_at=now):
        return void_claim(conn, workspace_id, claim_id, reason=reason, now=now)  # moved meanwhile: answer anew
    store.release_holding(conn, workspace_id, offer.id, claim.profile_id)
    store.give_back_stock(conn, workspace_id, offer.id)
    if claim.campaign_id is not None and claim.cost_fen > 0:
        store.refund_budget(conn, workspace_id, claim.campaign_id, claim.cost_fen, now)
    voided = store.get_claim(conn, workspace_id, claim_id)
    fulfilment.on_void(conn, workspace_id, offer, voided, now)
    return voided


def redeem_claim(conn: Connection, workspace_id: int, code: str, *, order: redemption.Order, idempotency_key: str,
                 now: datetime) -> Claim:
    """Use the coupon on an order, or raise ``offers.not_redeemable`` (``details.reason``) /
    ``offers.already_redeemed``. The same key again returns the first redemption."""
    _check_key(idempotency_key)
    claim = store.claim_by_code(conn, workspace_id, codes.normalise(code))
    if claim.status is ClaimStatus.REDEEMED:
        if claim.redeem_key == idempotency_key:
            return claim
        raise AlreadyRedeemed(f"The coupon was used on order {claim.order_id}.",
                              details={"order_id": claim.order_id, "redeemed_at": str(claim.redeemed_at)})
    offer = store.get_offer(conn, workspace_id, claim.offer_id)
    decision = redemption.decide(offer, claim, order, now)
    if not decision.allowed:
        raise NotRedeemable(decision.message, details={"reason": decision.reason, "code": claim.code})
    if not store.update_claim(conn, workspace_id, claim.id, now, expect=ClaimStatus.CLAIMED,
                              status=ClaimStatus.REDEEMED.value, redeem_key=idempotency_key, order_id=order.order_id,
                              order_amount_fen=order.amount_fen, discount_fen=decision.discount_fen, redeemed_at=now):
        return redeem_claim(conn, workspace_id, code, order=order, idempotency_key=idempotency_key, now=now)
    store.count_redeemed(conn, workspace_id, offer.id, 1)
    return store.get_claim(conn, workspace_id, claim.id)


def expire_claims(conn: Connection, workspace_id: int, *, now: datetime, limit: int = 1000) -> int:
    """Unused claims past their validity → ``expired``; how many."""
    return len(store.expire_due(conn, workspace_id, now, limit))


def add_codes(conn: Connection, workspace_id: int, offer_id: int, new_codes: list[str], *, now: datetime) -> Offer:
    """Put codes (a generated batch or an import) into the offer's pool; the offer then hands out pool
    codes only. Refuses codes the workspace already has, naming them."""
    offer = store.get_offer(conn, workspace_id, offer_id)
    if offer.kind not in (OfferKind.FIXED_AMOUNT, OfferKind.PERCENTAGE, OfferKind.THRESHOLD, OfferKind.FREE_GIFT):
        raise OffersError("Only coupons take a code pool.", details={"kind": offer.kind.value})
    if offer.code_source is CodeSource.GENERATED and offer.claimed > 0:
        raise OffersError("The offer already issued generated codes; create a new offer for a code pool.")
    taken = store.existing_codes(conn, workspace_id, new_codes)
    if taken:
        raise OffersError(f"{len(taken)} of the codes exist already in this workspace.",
                          code="offers.duplicate_codes", status=409, details={"codes": sorted(taken)[:20]})
    store.add_codes(conn, workspace_id, offer_id, new_codes, now)
    store.update_offer(conn, workspace_id, offer_id, now, code_source=CodeSource.POOL.value)
    return store.get_offer(conn, workspace_id, offer_id)


def set_fulfilment(conn: Connection, workspace_id: int, claim_id: int, *, fulfilment_status: Fulfilment,
                   now: datetime, delivery: dict[str, Any] | None = None) -> Claim:
    """A physical gift's delivery details and progress (pending → shipped → delivered)."""
    claim = store.get_claim(conn, workspace_id, claim_id)
    if claim.fulfilment is None:
        raise OffersError("Only a physical gift's claim has a fulfilment.", details={"claim_id": claim_id})
    values: dict[str, Any] = {"fulfilment": fulfilment_status.value}
    if delivery is not None:
        values["delivery"] = fulfilment.check_delivery(delivery)
    elif claim.delivery is None and fulfilment_status is not Fulfilment.PENDING:
        raise OffersError("Add the delivery details (name, phone, address) before shipping.",
                          details={"field": "delivery"})
    store.update_claim(conn, workspace_id, claim_id, now, **values)
    return store.get_claim(conn, workspace_id, claim_id)
