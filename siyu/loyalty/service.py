"""Loyalty's entry points for the API, CLI and console: set the programme (ladder, weights, rules),
read a member's tier and points, in full or as the customer page's summary. Points operations are
in :mod:`siyu.loyalty.points`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from siyu.loyalty import points_store, store
from siyu.loyalty.errors import LoyaltyError, MemberNotFound, ProgrammeMissing
from siyu.loyalty.models import Programme


def check_programme(values: dict[str, Any]) -> Programme:
    try:
        return Programme.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "programme"
        raise LoyaltyError(f"The programme does not hold together: {field}: {first['msg']}.",
                           details={"field": field, "errors": len(error.errors())}) from None


def set_programme(conn: Connection, workspace_id: int, values: dict[str, Any], *, now: datetime) -> Programme:
    programme = check_programme(values)
    store.save_programme(conn, workspace_id, programme, now)
    return programme


def member_view(conn: Connection, workspace_id: int, profile_id: int) -> dict[str, Any]:
    """Tier, progress to the next tier, balance, history and lots: the profile page's member section."""
    programme, _, _ = store.get_programme(conn, workspace_id)
    try:
        member = store.get_member(conn, workspace_id, profile_id)
    except MemberNotFound:
        return {"member": None, "tier": None, "next_tier": None, "history": [], "entries": [], "lots": []}
    tier = programme.tiers[member.tier_rank]
    following = programme.tiers[member.tier_rank + 1] if member.tier_rank + 1 < len(programme.tiers) else None
    return {
        "member": member.to_dict(),
        "tier": {"rank": member.tier_rank, **tier.model_dump()},
        "next_tier": None if following is None else {
            "rank": member.tier_rank + 1, "name": following.name, "threshold": following.threshold,
            "missing": max(0, following.threshold - member.growth_value)},
        "history": store.tier_history(conn, workspace_id, profile_id),
        "entries": [e.to_dict() for e in points_store.list_entries(conn, workspace_id, profile_id)],
        "lots": [lot.to_dict() for lot in points_store.list_lots(conn, workspace_id, profile_id)],
    }


def member_summary(conn: Connection, workspace_id: int, profile_id: int) -> dict[str, Any] | None:
    """The customer page's member section: tier, progress to the next tier, balance and the next lot
    to expire. None when the workspace has no programme (there is no membership to speak of);
    ``{"member": None}`` for a person with no loyalty activity yet."""
    try:
        programme, _, _ = store.get_programme(conn, workspace_id)
        member = store.get_member(conn, workspace_id, profile_id)
    except ProgrammeMissing:
        return None
    except MemberNotFound:
        return {"member": None}
    following = programme.tiers[member.tier_rank + 1] if member.tier_rank + 1 < len(programme.tiers) else None
    lot = points_store.next_expiring_lot(conn, workspace_id, profile_id)
    return {
        "member": member.to_dict(),
        "tier": programme.tiers[member.tier_rank].name,
        "next_tier": None if following is None else {
            "name": following.name, "threshold": following.threshold,
            "missing": max(0, following.threshold - member.growth_value)},
        "next_expiry": None if lot is None else {"points": lot.remaining, "expires_at": lot.expires_at},
    }
