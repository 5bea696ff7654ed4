"""What a member's centre page shows, assembled from the capabilities that own it: loyalty (tier,
progress, benefits, points, the catalogue), offers (the person's coupons), growth (the invite
campaign, the person's share link and poster) and, when that module is present, growth tasks.

The page reads one person's own data only; everything here takes the workspace and the live profile
id the signed token led to. The choices with a rule in them — which campaign is the invite campaign,
how a coupon is grouped, how far the progress bar is — are plain functions over plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.growth import store as growth_store
from siyu.growth.models import Campaign, CampaignKind
from siyu.loyalty import points_store, store
from siyu.loyalty.errors import MemberNotFound, ProgrammeMissing
from siyu.loyalty.models import Programme
from siyu.offers import store as offers_store
from siyu.offers.errors import OffersError
from siyu.offers.models import Claim, ClaimStatus, OfferStatus
from siyu.offers.redemption import face_value

INVITE_KINDS = (CampaignKind.REFERRAL, CampaignKind.TASK_UNLOCK)
RECENT_ENTRIES = 10
COUPON_GROUPS = ("claimed", "redeemed", "expired")


# --- Pure choices ------------------------------------------------------------------------------------

def progress_percent(growth_value: int, floor: int, ceiling: int | None) -> int:
    """How far from this tier's threshold to the next one's, 0-100 (100 at the top tier)."""
    if ceiling is None or ceiling <= floor:
        return 100
    return max(0, min(100, (growth_value - floor) * 100 // (ceiling - floor)))


def choose_invite_campaign(campaigns: Sequence[Campaign], chosen_id: int | None, now: datetime) -> Campaign | None:
    """The programme's chosen campaign when it is an open referral or task-unlock campaign; otherwise
    (none chosen, or the chosen one ended or is of another kind) the newest open referral campaign."""
    open_ = [c for c in campaigns if c.is_open(now)]
    if chosen_id is not None:
        chosen = next((c for c in open_ if c.id == chosen_id and c.kind in INVITE_KINDS), None)
        if chosen is not None:
            return chosen
    referrals = [c for c in open_ if c.kind is CampaignKind.REFERRAL]
    return max(referrals, key=lambda c: c.id, default=None)


def coupon_group(claim: Claim, now: datetime) -> str | None:
    """claimed (usable), redeemed (used) or expired; a claimed coupon past its date is expired already
    (the worker marks it later); a voided one is not the person's any more (None)."""
    if claim.status is ClaimStatus.REDEEMED:
        return "redeemed"
    if claim.status is ClaimStatus.EXPIRED:
        return "expired"
    if claim.status is ClaimStatus.CLAIMED:
        return "expired" if claim.valid_until is not None and claim.valid_until <= now else "claimed"
    return None


# --- Assembly ----------------------------------------------------------------------------------------

def programme_or_none(conn: Connection, workspace_id: int) -> Programme | None:
    try:
        return store.get_programme(conn, workspace_id)[0]
    except ProgrammeMissing:
        return None


def _offer_names(conn: Connection, workspace_id: int, offer_ids: set[int]) -> dict[int, Any]:
    found = {}
    for offer_id in sorted(offer_ids):
        try:
            found[offer_id] = offers_store.get_offer(conn, workspace_id, offer_id)
        except OffersError:
            continue  # removed since the programme named it: the page leaves it out
    return found


def _tier(programme: Programme, member: Any, offers: dict[int, Any]) -> dict[str, Any]:
    rank = member.tier_rank if member else 0
    growth = member.growth_value if member else 0
    tier = programme.tiers[rank]
    following = programme.tiers[rank + 1] if rank + 1 < len(programme.tiers) else None
    return {
        "rank": rank, "name": tier.name, "growth_value": growth, "threshold": tier.threshold,
        "next": None if following is None else {"name": following.name, "threshold": following.threshold,
                                                "missing": max(0, following.threshold - growth)},
        "percent": progress_percent(growth, tier.threshold, following.threshold if following else None),
        "multiplier": tier.points_multiplier, "priority_service": tier.priority_service,
        "reach_offer": offers[tier.reach_offer_id].name if tier.reach_offer_id in offers else None,
        "monthly_offer": offers[tier.monthly_offer_id].name if tier.monthly_offer_id in offers else None,
        "downgrade_at": member.downgrade_at if member else None,
        "downgrade_to": (programme.tiers[member.downgrade_to].name
                         if member and member.downgrade_to is not None and member.downgrade_to < len(programme.tiers)
                         else None),
    }


def _points(conn: Connection, workspace_id: int, profile_id: int, member: Any) -> dict[str, Any]:
    """Balance, debt, the recent entries, and the points of the next expiry date (every open lot
    expiring at that moment: a fixed-date expiry puts many lots on one date)."""
    expiring = [(lot.expires_at, lot.remaining) for lot in points_store.open_lots(conn, workspace_id, profile_id)
                if lot.expires_at is not None]
    soonest = min((at for at, _ in expiring), default=None)
    return {"balance": member.points_balance if member else 0, "debt": member.points_debt if member else 0,
            "entries": [e.to_dict() for e in points_store.list_entries(conn, workspace_id, profile_id,
                                                                       limit=RECENT_ENTRIES)],
            "next_expiry": None if soonest is None else {
                "points": sum(points for at, points in expiring if at == soonest), "at": soonest}}


def _coupons(conn: Connection, workspace_id: int, profile_id: int, now: datetime) -> dict[str, list[dict[str, Any]]]:
    claims = offers_store.list_claims(conn, workspace_id, profile_id=profile_id, limit=200)
    names = _offer_names(conn, workspace_id, {c.offer_id for c in claims})
    grouped: dict[str, list[dict[str, Any]]] = {group: [] for group in COUPON_GROUPS}
    for claim in claims:
        group = coupon_group(claim, now)
        if group is None:
            continue
        offer = names.get(claim.offer_id)
        grouped[group].append({"offer_id": claim.offer_id, "name": offer.name if offer else f"#{claim.offer_id}",
                               "code": claim.code, "status": group, "valid_until": claim.valid_until,
                               "redeemed_at": claim.redeemed_at,
                               # its own (a split share) or the offer's; None: not an amount (a percentage, a gift)
                               "face_value_fen": face_value(offer, claim) if offer else claim.amount_fen})
    return grouped


def _catalogue(programme: Programme, offers: dict[int, Any], balance: int) -> list[dict[str, Any]]:
    items = []
    for item in programme.catalogue:
        offer = offers.get(item.offer_id)
        if offer is None or offer.status is not OfferStatus.ACTIVE:
            continue
        items.append({"offer_id": item.offer_id, "name": offer.name, "description": offer.description,
                      "points": item.points, "affordable": balance >= item.points, "sold_out": offer.remaining <= 0})
    return items


def invite_campaign(conn: Connection, workspace_id: int, programme: Programme | None, now: datetime) -> Campaign | None:
    found = growth_store.list_campaigns(conn, workspace_id, status="live")
    return choose_invite_campaign(found, programme.invite_campaign_id if programme else None, now)


def _invite(conn: Connection, workspace_id: int, profile_id: int, programme: Programme | None, public_url: str,
            now: datetime) -> dict[str, Any] | None:
    campaign = invite_campaign(conn, workspace_id, programme, now)
    if campaign is None:
        return None
    joined = growth_store.participant_of(conn, workspace_id, campaign.id, profile_id)
    return {"campaign_id": campaign.id, "name": campaign.name, "kind": campaign.kind.value,
            "description": campaign.rules.get("description"), "ends_at": campaign.ends_at,
            "page_url": f"{public_url}/c/{campaign.token}",
            "joined": joined is not None, "progress": joined.progress if joined else 0,
            "share_url": f"{public_url}/c/{campaign.token}?ref={joined.token}" if joined else None,
            "has_poster": campaign.rules.get("poster_template_id") is not None}


def _tasks(conn: Connection, workspace_id: int, profile_id: int, now: datetime) -> list[dict[str, Any]] | None:
    """Growth tasks from :mod:`siyu.loyalty.tasks_service` when that module is installed; None otherwise
    (the page leaves the section out)."""
    try:
        from siyu.loyalty.tasks_service import tasks_for_member
    except ImportError:
        return None
    return tasks_for_member(conn, workspace_id, profile_id, now=now)


def centre_view(conn: Connection, workspace_id: int, profile_id: int, *, public_url: str,
                now: datetime) -> dict[str, Any]:
    """Everything the page shows for the live profile ``profile_id``."""
    programme = programme_or_none(conn, workspace_id)
    try:
        member = store.get_member(conn, workspace_id, profile_id)
    except MemberNotFound:
        member = None
    view: dict[str, Any] = {"profile_id": profile_id, "programme": programme is not None, "tier": None,
                            "points": _points(conn, workspace_id, profile_id, member), "catalogue": [],
                            "coupons": _coupons(conn, workspace_id, profile_id, now),
                            "invite": _invite(conn, workspace_id, profile_id, programme, public_url.rstrip("/"), now),
                            "tasks": _tasks(conn, workspace_id, profile_id, now)}
    if programme is not None:
        wanted = {item.offer_id for item in programme.catalogue}
        wanted |= {t.reach_offer_id for t in programme.tiers if t.reach_offer_id}
        wanted |= {t.monthly_offer_id for t in programme.tiers if t.monthly_offer_id}
        offers = _offer_names(conn, workspace_id, wanted)
        view["tier"] = _tier(programme, member, offers)
        view["catalogue"] = _catalogue(programme, offers, view["points"]["balance"])
    return view
