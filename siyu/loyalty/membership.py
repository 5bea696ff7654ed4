"""A member's tier as growth changes: upgrades at once with their benefits (the reach offer, claimed
once per tier with a deterministic key) and a ``Tier Changed`` event in the person's timeline, so
segments and journeys can use it. Runs in the caller's transaction, under the member's lock."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.loyalty import store, tiers
from siyu.loyalty.models import EVENT_SOURCE, TIER_CHANGED, ChangeReason, Member, Programme

log = logging.getLogger("siyu.loyalty")


def tier_event(programme: Programme, from_rank: int | None, to_rank: int, reason: str, growth: int) -> dict[str, Any]:
    """The properties of a ``Tier Changed`` event (names and ranks, so a journey can branch on either)."""
    return {"from_tier": None if from_rank is None else programme.tiers[from_rank].name,
            "to_tier": programme.tiers[to_rank].name, "from_rank": from_rank, "to_rank": to_rank,
            "reason": reason, "growth_value": growth}


def append_events(conn: Connection, workspace_id: int, items: list[tuple[int, str, dict[str, Any]]],
                  now: datetime) -> None:
    from siyu.profiles.read_store import append_profile_events

    for start in range(0, len(items), 5000):
        append_profile_events(conn, workspace_id, items[start:start + 5000], EVENT_SOURCE, now)


def grant_offer(conn: Connection, workspace_id: int, offer_id: int, profile_id: int, key: str, now: datetime) -> bool:
    """Claim a tier benefit; a refusal (out of stock, ended) is recorded by offers and logged, and the
    tier change stands — the deterministic key means a retry never grants twice."""
    from siyu.offers.errors import OffersError
    from siyu.offers.service import claim_offer

    try:
        claim_offer(conn, workspace_id, offer_id, profile_id=profile_id, idempotency_key=key, now=now,
                    channel="loyalty")
    except OffersError as error:
        log.info("workspace %s: tier benefit offer %s refused for profile %s: %s", workspace_id, offer_id,
                 profile_id, error.code)
        return False
    return True


def apply_growth(conn: Connection, workspace_id: int, programme: Programme, member: Member, delta: int,
                 now: datetime, **values: Any) -> int:
    """Add ``delta`` to the member's period growth and upgrade at once when it reaches a higher tier;
    returns the tier rank held afterwards."""
    growth = store.add_growth(conn, workspace_id, member.profile_id, delta, now, **values)
    thresholds = [t.threshold for t in programme.tiers]
    decision = tiers.on_growth(thresholds, member.tier_rank, member.downgrade_at is not None, growth)
    if decision.upgrade_to is not None:
        upgrade(conn, workspace_id, programme, member.profile_id, member.tier_rank, decision.upgrade_to, growth, now)
        return decision.upgrade_to
    if decision.clear_grace:
        store.update_member(conn, workspace_id, member.profile_id, now, downgrade_to=None, downgrade_at=None)
    return member.tier_rank


def upgrade(conn: Connection, workspace_id: int, programme: Programme, profile_id: int, from_rank: int,
            to_rank: int, growth: int, now: datetime) -> None:
    store.update_member(conn, workspace_id, profile_id, now, tier_rank=to_rank, tier_since=now, downgrade_to=None,
                        downgrade_at=None)
    store.insert_tier_change(conn, workspace_id, profile_id, from_rank, to_rank, ChangeReason.UPGRADE.value, growth,
                             now)
    append_events(conn, workspace_id, [(profile_id, TIER_CHANGED, tier_event(
        programme, from_rank, to_rank, ChangeReason.UPGRADE.value, growth))], now)
    offer_id = programme.tiers[to_rank].reach_offer_id
    if offer_id is not None:
        grant_offer(conn, workspace_id, offer_id, profile_id, f"loyalty:reach:{to_rank}:{profile_id}", now)
