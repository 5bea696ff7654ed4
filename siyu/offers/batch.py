"""Claims of one offer taken together: a group's claims in a handful of statements instead of a
handful each.

In a flash sale the claim writer (:mod:`siyu.offers.writer`) gathers tens of claims per transaction,
almost all on one offer; taken one by one each costs seven statements (its person, the offer, its
key, its holding, its code, its answer, the stock), and the Python around each statement, not the
database, was what bounded claims per second. Here the group's people are read in one query, the
offer once, the keys inserted with their answers in one statement, the holdings taken in one and the
stock in one — and once the offer is sold out, as it is for most of a flash sale's attempts, the
refusals are one insert.

The answers are those :func:`siyu.offers.service.claim_offer` gives, in the same order of checks
(person, offer, key, validity, stock, limit, stock again), with the same messages; tests hold the two
paths to the same outcomes. What this path does not take — a kind whose claim does more than write a
code (points, red packets, physical gifts), a code pool, a campaign budget, a delivery, a face value of
the claim's own (checked, and costed, by the one-by-one path), a second attempt of one person or one key
in the same group — it hands back (``None``) for the one-by-one path,
which runs after it in the same transaction: the group is answered as if those requests had come
after the others, one of the orders in which concurrent requests may be served.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from siyu.errors import SiyuError
from siyu.offers import batch_store, codes, store, validity
from siyu.offers.errors import OfferExpired, OfferNotFound, OffersError
from siyu.offers.models import ClaimStatus, CodeSource, Offer, OfferKind
from siyu.offers.service import limit_reached, repeat_answer, sold_out
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import resolve_profile_id

if TYPE_CHECKING:
    from siyu.offers.writer import Answer, ClaimRequest

CODE_ONLY = frozenset({OfferKind.FIXED_AMOUNT, OfferKind.PERCENTAGE, OfferKind.THRESHOLD, OfferKind.FREE_GIFT})
MAX_KEY = 200


def takes(offer: Offer) -> bool:
    """Whether a claim of ``offer`` is only a code, a holding and a unit of stock (no budget to spend,
    no pool to draw from, nothing given besides the code)."""
    return (offer.kind in CODE_ONLY and offer.code_source is CodeSource.GENERATED
            and not (offer.campaign_id is not None and offer.cost_fen > 0))


def simple(request: ClaimRequest) -> bool:
    """A request this path may take, before the offer is read."""
    return request.delivery is None and request.campaign_id is None and request.amount_fen is None


def claim_together(conn: Connection, workspace_id: int, offer_id: int, requests: Sequence[ClaimRequest],
                   now: datetime) -> list[Answer | None]:
    """The answers of ``requests`` (all of ``offer_id``), None for those left to the one-by-one path."""
    answers: list[Answer | None] = [None] * len(requests)
    offer, found = batch_store.offer_and_people(conn, workspace_id, offer_id, sorted({r.profile_id for r in requests}))
    live = _people(conn, workspace_id, requests, answers, found)
    if offer is None:
        missing = OfferNotFound(f"No offer {offer_id} in this workspace.", details={"offer_id": offer_id})
        return [missing if answer is None else answer for answer in answers]
    if not takes(offer):
        return answers
    chosen, keys, people = [], set(), set()
    for index, request in enumerate(requests):
        if answers[index] is None and request.idempotency_key not in keys and live[index] not in people:
            chosen.append(index)
            keys.add(request.idempotency_key)
            people.add(live[index])
    ended = validity.issue_refusal(offer, now)
    if ended is not None:
        _refuse_all(conn, workspace_id, offer, requests, live, chosen, answers, now,
                    OfferExpired(ended, details={"offer_id": offer_id}))
    elif offer.claimed >= offer.stock:
        _refuse_all(conn, workspace_id, offer, requests, live, chosen, answers, now, sold_out(offer))
    else:
        _grant(conn, workspace_id, offer, requests, live, chosen, answers, now)
    return answers


def _people(conn: Connection, workspace_id: int, requests: Sequence[ClaimRequest], answers: list[Answer | None],
            found: dict[int, int | None]) -> list[int]:
    """Each request's live profile (0 where the request is answered already: a bad key, no such person);
    ``found``: the named profiles that exist, with whom each was merged into."""
    live = [0] * len(requests)
    for index, request in enumerate(requests):
        if not isinstance(request.idempotency_key, str) or not 0 < len(request.idempotency_key) <= MAX_KEY:
            answers[index] = OffersError("'idempotency_key' is 1-200 characters.",
                                         details={"field": "idempotency_key"})
        elif request.profile_id not in found:
            answers[index] = ProfileNotFound(f"No profile {request.profile_id} in this workspace.",
                                             details={"profile_id": request.profile_id})
        elif found[request.profile_id] is None:
            live[index] = request.profile_id
        else:
            try:
                live[index] = resolve_profile_id(conn, workspace_id, request.profile_id)
            except SiyuError as missing:
                answers[index] = missing
    return live


def _row(offer: Offer, request: ClaimRequest, profile_id: int, now: datetime,
         **values: Any) -> dict[str, Any]:
    return {"offer_id": offer.id, "profile_id": profile_id,
            "idempotency_key": request.idempotency_key, "channel": request.channel, "campaign_id": offer.campaign_id,
            "cost_fen": offer.cost_fen, "claimed_at": now, "updated_at": now, "code": None, "error_code": None,
            "valid_from": None, "valid_until": None, **values}


def _refuse_all(conn: Connection, workspace_id: int, offer: Offer, requests: Sequence[ClaimRequest],
                live: list[int], chosen: list[int], answers: list[Answer | None], now: datetime,
                error: OffersError) -> None:
    """The offer issues nothing now: every chosen attempt is stored refused with ``error`` at once."""
    rows = [{"offer_id": offer.id, "profile_id": live[i],
             "idempotency_key": requests[i].idempotency_key, "channel": requests[i].channel,
             "campaign_id": offer.campaign_id, "cost_fen": offer.cost_fen, "claimed_at": now, "updated_at": now,
             "status": ClaimStatus.REFUSED.value, "error_code": error.code} for i in chosen]
    inserted = batch_store.insert_refusals(conn, workspace_id, rows)
    for index in chosen:
        if requests[index].idempotency_key in inserted:
            answers[index] = error
        else:
            answers[index] = _repeat(conn, workspace_id, offer.id, live[index], requests[index].idempotency_key)


def _grant(conn: Connection, workspace_id: int, offer: Offer, requests: Sequence[ClaimRequest],
           live: list[int], chosen: list[int], answers: list[Answer | None], now: datetime) -> None:
    """Codes written with the keys, then the holdings, then the stock (the row every claimer updates,
    last, so its lock is held only to the commit); attempts past the limit or the stock are rewritten
    as refused and give back what they took."""
    valid_from, valid_until = validity.claim_window(offer, now)
    fresh = _fresh_codes(conn, workspace_id, len(chosen))
    rows = [_row(offer, requests[i], live[i], now, status=ClaimStatus.CLAIMED.value, code=code,
                 valid_from=valid_from, valid_until=valid_until) for i, code in zip(chosen, fresh, strict=True)]
    inserted = batch_store.insert_claims(conn, workspace_id, rows)
    new = [i for i in chosen if requests[i].idempotency_key in inserted]
    for index in chosen:
        if index not in new:
            answers[index] = _repeat(conn, workspace_id, offer.id, live[index], requests[index].idempotency_key)
    held = batch_store.take_holdings(conn, workspace_id, offer.id, [live[i] for i in new], offer.per_person_limit)
    refused: list[tuple[int, OffersError]] = []
    candidates, left = [], offer.stock - offer.claimed
    for index in new:  # in order, as one claim after another would see the stock and the limit
        if left <= 0:
            refused.append((index, sold_out(offer)))
        elif live[index] not in held:
            refused.append((index, limit_reached(offer)))
        else:
            candidates.append(index)
            left -= 1
    taken = batch_store.take_stock(conn, workspace_id, offer.id, len(candidates))
    refused += [(index, sold_out(offer)) for index in candidates[taken:]]  # others took units meanwhile
    batch_store.release_holdings(conn, workspace_id, offer.id, [live[i] for i, _ in refused if live[i] in held])
    batch_store.refuse_claims(conn, workspace_id, [(int(inserted[requests[i].idempotency_key].id), error.code)
                                                   for i, error in refused], now)
    for index, error in refused:
        answers[index] = error
    for index in candidates[:taken]:
        answers[index] = store.claim_from_row(inserted[requests[index].idempotency_key]).to_dict()


def _fresh_codes(conn: Connection, workspace_id: int, count: int) -> list[str]:
    """``count`` random codes no claim or pool of the workspace has, distinct among themselves."""
    picked: list[str] = []
    while len(picked) < count:
        drawn = list(dict.fromkeys(codes.generate_code() for _ in range(count - len(picked))))
        taken = batch_store.taken_codes(conn, workspace_id, drawn)
        picked.extend(code for code in drawn if code not in taken and code not in picked)
    return picked


def _repeat(conn: Connection, workspace_id: int, offer_id: int, profile_id: int, key: str) -> Answer:
    try:
        return repeat_answer(conn, workspace_id, offer_id, profile_id, key).to_dict()
    except SiyuError as refusal:
        return refusal
