"""Loyalty in the demo brand (issue 7): a four-tier ladder (普卡 / 银卡 / 金卡 / 黑金) with benefits,
points rules and a catalogue, and a year of history for the brand's biggest spenders — growth value
that lifted them up the ladder (``Tier Changed`` in their timelines), points earned per order in
lots, some redeemed for a coupon, one refund taken back, old lots expired by the nightly run and
reminders for points about to expire. From now on the worker follows the log as usual.

Everything goes through loyalty's public functions (growth through the upgrade path, points through
the ledger, expiry through the nightly evaluation). Idempotent: a workspace with a programme is left
as it is.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from siyu import clock
from siyu.db.engine import read, write
from siyu.ingest.store import newest_event_id
from siyu.loyalty import membership, nightly, points, service, store
from siyu.loyalty.errors import InsufficientPoints, ProgrammeMissing
from siyu.offers.errors import OffersError
from siyu.offers.service import create_offer
from siyu.runtime import Runtime
from siyu.segments import store as cursor_store
from siyu.workspaces import store as workspace_store

DAY = timedelta(days=1)
MEMBERS = 300
LADDER = [
    {"name": "普卡", "threshold": 0},
    {"name": "银卡", "threshold": 300, "points_multiplier": 120},
    {"name": "金卡", "threshold": 800, "points_multiplier": 150, "priority_service": True},
    {"name": "黑金", "threshold": 1500, "points_multiplier": 200, "priority_service": True},
]


def loyalty(runtime: Runtime, workspace_id: int, *, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Set up the programme and the members' history; what it made, in figures."""
    now = now or clock.now()
    rnd = random.Random(seed * 7 + 11)
    with write(runtime.engine) as conn:
        try:
            store.get_programme(conn, workspace_id)
            return {}
        except ProgrammeMissing:
            pass
        zone = workspace_store.get_workspace(conn, workspace_id).timezone
        coupon = create_offer(conn, workspace_id, {"name": "积分兑 30 元券 · 30 yuan for points",
                                                   "kind": "fixed_amount",
                                                   "stock": 500, "per_person_limit": 5, "amount_fen": 3000,
                                                   "valid_days": 60}, now=now - 200 * DAY)
        welcome = create_offer(conn, workspace_id, {"name": "金卡礼 · gold welcome gift", "kind": "free_gift",
                                                    "gift_name": "旅行装精华", "stock": 200, "per_person_limit": 1},
                               now=now - 200 * DAY)
        ladder = [dict(t) for t in LADDER]
        ladder[2]["reach_offer_id"] = welcome.id
        programme = service.set_programme(conn, workspace_id, {
            "tiers": ladder, "weights": {"spend_per_yuan": 1, "activity_per_day": 2, "task": 50},
            "earning": {"per_yuan": 1, "events": [{"event": "Checked In", "points": 5, "daily_cap": 5}]},
            "expiry": {"mode": "rolling", "days": 365}, "remind_days": 14, "evaluation_days": 365, "grace_days": 30,
            "catalogue": [{"offer_id": coupon.id, "points": 300}]}, now=now - 300 * DAY)
        # From here on the worker follows the log; the history below is written directly.
        cursor_store.claim_cursor(conn, workspace_id, "loyalty.events", now,
                                  initial=newest_event_id(conn, workspace_id))
    with read(runtime.engine) as conn:
        spenders = store.top_spenders(conn, workspace_id, MEMBERS)
    made = {"members": 0, "redeemed": 0, "refunded": 0}
    for n, (profile_id, spend) in enumerate(spenders):
        _history(runtime, workspace_id, programme, profile_id, spend, n, rnd, now, zone, coupon.id, made)
    result = nightly.run_nightly(runtime.engine, workspace_id, zone, now)
    made.update({"expired_lots": result.lots_expired, "reminders": result.reminders})
    with read(runtime.engine) as conn:
        made["by_tier"] = sum(1 for rank, count in store.tier_counts(conn, workspace_id).items() if rank and count)
    return made


def _history(runtime: Runtime, workspace_id: int, programme, profile_id: int, spend: float, n: int,  # noqa: ANN001
             rnd: random.Random, now: datetime, zone: str, coupon_id: int, made: dict[str, int]) -> None:
    """One member's year: orders (growth and points at their time), a redemption, maybe a refund."""
    orders = max(1, min(6, int(spend // 150)))
    share = int(spend) // orders
    with write(runtime.engine) as conn:
        for k in range(orders):
            at = now - (390 - k * 60 - rnd.randint(0, 40)) * DAY
            member, _ = store.lock_member(conn, workspace_id, profile_id, at)
            multiplier = programme.tiers[member.tier_rank].points_multiplier
            points.earn(conn, workspace_id, profile_id, max(1, share * multiplier // 100), key=f"demo:{profile_id}:{k}",
                        reason="order", now=at, expiry=programme.expiry, timezone=zone,
                        order_id=f"DEMO-L{profile_id}-{k}", details={"growth": share})
            membership.apply_growth(conn, workspace_id, programme, member, share, at)
        made["members"] += 1
    if n % 4 == 0:
        try:
            with write(runtime.engine) as conn:
                points.redeem(conn, workspace_id, programme, profile_id, coupon_id, key=f"demo:redeem:{profile_id}",
                              now=now - 20 * DAY)
            made["redeemed"] += 1
        except (OffersError, InsufficientPoints):
            pass  # not enough points, or the coupon's stock is gone: nothing was spent
    if n % 25 == 3:
        with write(runtime.engine) as conn:
            points.reverse_order(conn, workspace_id, f"DEMO-L{profile_id}-{orders - 1}", now=now - 5 * DAY)
        made["refunded"] += 1
