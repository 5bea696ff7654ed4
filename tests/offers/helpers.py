"""Offers made and claimed directly through the service, for the tests of this package."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from siyu import clock
from siyu.db.engine import read, write
from siyu.offers import service, store
from siyu.offers.errors import OffersError
from siyu.offers.models import Claim, Offer

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def make_offer(runtime: Any, workspace: Any, **values: Any) -> Offer:
    template = {"name": "满100减20", "kind": "fixed_amount", "amount_fen": 2000, "stock": 10, "per_person_limit": 1}
    with write(runtime.engine) as conn:
        return service.create_offer(conn, workspace.id, {**template, **values}, now=clock.now())


def claim(runtime: Any, workspace: Any, offer_id: int, profile_id: int, key: str, **more: Any) -> Claim | str:
    """The claim, or the refusal's code (committed, as the API does)."""
    with write(runtime.engine) as conn:
        try:
            return service.claim_offer(conn, workspace.id, offer_id, profile_id=profile_id, idempotency_key=key,
                                       now=clock.now(), **more)
        except OffersError as error:
            refused = error
    return refused.code


def offer(runtime: Any, workspace: Any, offer_id: int) -> Offer:
    with read(runtime.engine) as conn:
        return store.get_offer(conn, workspace.id, offer_id)
