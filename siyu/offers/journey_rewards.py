"""The "give coupon" step of journeys, given through offers (:mod:`siyu.journeys.rewards` is the
registry; this module registers the ``coupon`` kind when it is imported — by :mod:`siyu.offers`, or by
the registry itself the first time a step asks for ``coupon``).

The step names its offer as written by the operator: ``{"offer": 12}`` (an id) or
``{"offer": "CART10"}`` (the newest active offer of that name). It is claimed for the person with the
step's own key, so a step retried after a crash gives nothing twice. The outcome is the step's figure:
``reward.given``, or the refusal (``reward.out_of_stock``, ``reward.limit_reached``,
``reward.budget_spent``, ``reward.expired``); an offer that does not exist (by name: no active one)
is ``reward.unavailable``, as when no provider is registered, and the person goes on either way.
"""

from __future__ import annotations

from sqlalchemy import Connection

from siyu.journeys import rewards
from siyu.offers import store
from siyu.offers.errors import OffersError
from siyu.offers.service import claim_offer

GIVEN = "reward.given"


def give_coupon(conn: Connection, request: rewards.RewardRequest) -> str:
    named = request.params.get("offer")
    offer = None
    if isinstance(named, int | str) and not isinstance(named, bool):
        offer = store.find_offer(conn, request.workspace_id, named)
    if offer is None:
        return rewards.UNAVAILABLE
    try:
        claim_offer(conn, request.workspace_id, offer.id, profile_id=request.profile_id,
                    idempotency_key=request.key[:200], now=request.now, channel="journey")
    except OffersError as error:
        return "reward." + error.code.removeprefix("offers.")
    return GIVEN


rewards.register("coupon", give_coupon)
