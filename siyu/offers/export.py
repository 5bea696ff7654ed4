"""Claims as CSV rows for an export (the console's download, the API, ``siyu offers export-claims``).

Delivery details are personal data (PIPL): exports need the ``export`` permission."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import Engine

from siyu.db.engine import read
from siyu.offers import store
from siyu.offers.models import Claim, Offer
from siyu.offers.redemption import face_value

# ``face_value_fen``: what the claim is worth — its own face value (a split coupon's share) or the offer's.
COLUMNS = ["id", "code", "profile_id", "status", "claimed_at", "valid_from", "valid_until", "channel", "campaign_id",
           "face_value_fen", "redeemed_at", "order_id", "order_amount_fen", "discount_fen", "points", "reward_id",
           "fulfilment", "delivery_name", "delivery_phone", "delivery_address", "void_reason"]
PAGE = 1000


def _row(offer: Offer, claim: Claim) -> list[str]:
    delivery = claim.delivery or {}
    values = claim.to_dict() | {f"delivery_{k}": delivery.get(k) for k in ("name", "phone", "address")} | {
        "face_value_fen": face_value(offer, claim)}
    return ["" if values[c] is None else (values[c].isoformat() if hasattr(values[c], "isoformat") else str(values[c]))
            for c in COLUMNS]


def claims_csv(engine: Engine, workspace_id: int, offer_id: int) -> Iterator[str]:
    """The offer's granted claims, newest first, read page by page (each page its own short read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    before: int | None = None
    while True:
        with read(engine) as conn:
            offer = store.get_offer(conn, workspace_id, offer_id)
            page = store.list_claims(conn, workspace_id, offer_id=offer_id, before_id=before, limit=PAGE)
        for claim in page:
            writer.writerow(_row(offer, claim))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(page) < PAGE:
            return
        before = page[-1].id
