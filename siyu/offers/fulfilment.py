"""What a granted claim sets in motion beyond the coupon itself, inside the claim's transaction.

- **points**: the amount is recorded on the claim and a ``Points Earned`` event is appended to the
  person's timeline; the loyalty points ledger consumes those events as it follows the log
  (:func:`siyu.loyalty.follow.offer_points`), crediting the points once per claim, and takes them back
  on the ``Points Revoked`` a void appends;
- **red packet**: a cash reward of the claim's face value (its own, e.g. a split coupon's share, else
  the offer's amount) is decided in the payments ledger (:func:`siyu.payments.ledger.decide_reward`)
  under the key ``offers:claim:<id>``; the worker sends it, so what is paid is what the claim says;
- **physical gift**: the delivery details (name, phone, address) are checked here and kept on the
  claim, whose fulfilment moves pending → shipped → delivered.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.offers.errors import OffersError
from siyu.offers.models import Claim, Offer, OfferKind
from siyu.offers.redemption import face_value

POINTS_EARNED, POINTS_REVOKED = "Points Earned", "Points Revoked"
EVENT_SOURCE = "offers"
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,19}$")
DELIVERY_FIELDS = {"name": 50, "phone": 24, "address": 300}


def check_delivery(delivery: dict[str, Any] | None) -> dict[str, str] | None:
    """Delivery details as stored (name, phone, address, and an optional note), or :class:`OffersError`."""
    if delivery is None:
        return None
    clean: dict[str, str] = {}
    for field, limit in DELIVERY_FIELDS.items():
        value = delivery.get(field)
        if not isinstance(value, str) or not 0 < len(value.strip()) <= limit:
            raise OffersError(f"'delivery.{field}' is 1-{limit} characters.", details={"field": f"delivery.{field}"})
        clean[field] = value.strip()
    if not PHONE.match(clean["phone"]):
        raise OffersError("'delivery.phone' is a phone number.", details={"field": "delivery.phone"})
    note = delivery.get("note")
    if isinstance(note, str) and note.strip():
        clean["note"] = note.strip()[:200]
    return clean


def _append(conn: Connection, workspace_id: int, profile_id: int, name: str, properties: dict[str, Any],
            now: datetime) -> None:
    from siyu.profiles.read_store import append_profile_events

    append_profile_events(conn, workspace_id, [(profile_id, name, properties)], EVENT_SOURCE, now)


def on_claim(conn: Connection, workspace_id: int, offer: Offer, claim: Claim, now: datetime) -> dict[str, Any]:
    """The claim's extra values to store (``reward_id``), after giving what its kind gives."""
    if offer.kind is OfferKind.POINTS:
        _append(conn, workspace_id, claim.profile_id, POINTS_EARNED,
                {"points": offer.points, "offer_id": offer.id, "claim_id": claim.id, "code": claim.code,
                 "reason": f"offer:{offer.id}"}, now)
    elif offer.kind is OfferKind.RED_PACKET:
        from siyu.payments.ledger import decide_reward

        reward, _ = decide_reward(conn, workspace_id, key=f"offers:claim:{claim.id}", profile_id=claim.profile_id,
                                  amount_fen=int(face_value(offer, claim) or 0), reason=f"offer:{offer.id}",
                                  wishing=(offer.description or offer.name)[:128], act_name=offer.name[:32],
                                  remark=offer.name[:256], now=now)
        return {"reward_id": reward.id}
    return {}


def on_void(conn: Connection, workspace_id: int, offer: Offer, claim: Claim, now: datetime) -> None:
    if offer.kind is OfferKind.POINTS and claim.points:
        _append(conn, workspace_id, claim.profile_id, POINTS_REVOKED,
                {"points": claim.points, "offer_id": offer.id, "claim_id": claim.id, "code": claim.code,
                 "reason": claim.void_reason or "voided"}, now)
