"""Distribution in the demo brand (issue 6, part 5): two store guides (全员营销) and three KOC
customers under them, each with a personal link; visitors who came through the links in the last
month and bought a few days later; some refunds; the commission ledger processed, the confirmed
commissions paid in one batch, and one refund after that payment shown as a negative adjustment.

Everything goes through the real paths: promoters through :mod:`siyu.growth.distribution_promoters`,
touches through the link's own function, orders and refunds through the ingest pipeline, the ledger
through the worker's step. Idempotent: a workspace with promoters is left as it is.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.demo.brand import PRODUCTS
from siyu.growth import distribution_store as store
from siyu.growth.distribution_ledger import pay
from siyu.growth.distribution_promoters import create_promoter, follow
from siyu.growth.distribution_rules import parse_plan
from siyu.growth.distribution_worker import process_workspace
from siyu.identity.rules import IdentityRules
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime
from siyu.staff import store as staff_store
from siyu.staff.models import StaffKind

SHOP = "https://shop.example.com/"
PLAN = {"levels": [{"default_rate": "0.10", "rates": [{"category": "gift_set", "rate": "0.15"},
                                                      {"product_id": "LIP-01", "rate": "0.12"}]},
                   {"default_rate": "0.02"}], "attribution_days": 7, "refund_days": 7}
GUIDES = (("guide_lin", "林导购 · 静安店"), ("guide_he", "何导购 · 天河店"))
KOCS = ("小鹿爱化妆", "阿青的彩妆日记", "Mia 美妆分享")
VISITS = 60
DAY = timedelta(days=1)


def _messages(raw: list[dict[str, Any]]) -> list[Any]:
    messages = [parse_message(m, received_at=clock.now(), source="demo") for m in raw]
    for message in messages:
        message.dedupe_forever = True
        message.received_at = message.timestamp  # as if each had arrived when it happened
    return messages


def _send(runtime: Runtime, workspace_id: int, raw: list[dict[str, Any]]) -> dict[str, int | None]:
    with write(runtime.engine) as conn:
        return ingest(conn, workspace_id, _messages(raw), rules=IdentityRules()).profile_ids


def _order(rnd: random.Random, seed: int, n: int, at: datetime, visitor: str, ref: str) -> dict[str, Any]:
    chosen = rnd.sample(PRODUCTS, k=rnd.choice((1, 1, 2)))
    lines = [{"product_id": p.sku, "sku": p.sku, "name": p.name, "category": p.category, "price": p.price,
              "quantity": 1} for p in chosen]
    total = round(sum(p.price for p in chosen), 2)
    return {"type": "track", "event": "Order Completed", "messageId": f"demo-{seed}-dist-order-{n}",
            "userId": f"demo-dist-buyer-{seed}-{n}", "anonymousId": visitor, "timestamp": at.isoformat(),
            "properties": {"order_id": f"DS{seed}{n:05d}", "total": total, "revenue": total, "currency": "CNY",
                           "products": lines, "siyu_ref": ref, "platform": "mini_program"}}


def _refund(seed: int, order: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"type": "track", "event": "Order Refunded", "messageId": f"demo-{seed}-dist-refund-{order['messageId']}",
            "userId": order["userId"], "timestamp": at.isoformat(),
            "properties": {"order_id": order["properties"]["order_id"]}}


def distribution(runtime: Runtime, workspace_id: int, *, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Set up and run distribution for the demo brand; what it did, in figures."""
    now = now or clock.now()
    rnd = random.Random(f"{seed}:distribution")
    with write(runtime.engine) as conn:
        if store.list_promoters(conn, workspace_id, limit=1):
            return {}
        store.save_plan(conn, workspace_id, parse_plan(PLAN).to_dict(), now)
    kocs = _send(runtime, workspace_id, [
        {"type": "identify", "userId": f"demo-koc-{seed}-{n}", "messageId": f"demo-{seed}-dist-koc-{n}",
         "traits": {"name": name}, "timestamp": (now - 40 * DAY).isoformat()} for n, name in enumerate(KOCS)])
    products = [{"name": p.name, "url": f"{SHOP}p/{p.sku}", "price": p.price} for p in PRODUCTS[:3]]
    with write(runtime.engine) as conn:
        leads = []
        for userid, name in GUIDES:
            member = staff_store.staff_by_userid(conn, workspace_id, userid) or staff_store.create_staff(
                conn, workspace_id, kind=StaffKind.MEMBER, name=name, userid=userid, avatar_url=None, signature=None,
                department="门店", persona_id=None, now=now)
            leads.append(create_promoter(conn, workspace_id, kind="staff", staff_id=member.id, now=now,
                                         landing_url=SHOP, products=products))
        promoters = leads + [create_promoter(conn, workspace_id, kind="koc", profile_id=profile_id, now=now,
                                             parent_id=leads[n % len(leads)].id, products=products[:2])
                             for n, profile_id in enumerate(p for p in kocs.values() if p is not None)]
        visits = []
        for n in range(VISITS):
            at = now - DAY * rnd.uniform(1, 30)
            followed = follow(conn, rnd.choice(promoters).token, visitor_id=f"demo-{seed}-visitor-{n}",
                              known_ids=[], now=at)
            assert followed is not None
            visits.append((n, at, followed[1], followed[2]))
    orders, refunds = [], []
    for n, at, ref, visitor in visits:
        when = at + DAY * rnd.uniform(0.1, 3)
        if rnd.random() < 0.55 and when < now:
            orders.append(_order(rnd, seed, n, when, visitor, ref))
            if rnd.random() < 0.12 and when + 2 * DAY < now:
                refunds.append(_refund(seed, orders[-1], when + 2 * DAY))
    _send(runtime, workspace_id, sorted(orders + refunds, key=lambda m: m["timestamp"]))
    processed = process_workspace(runtime.engine, workspace_id)
    with write(runtime.engine) as conn:
        payout, _ = pay(conn, workspace_id, key=f"demo-{seed}-first-payout", now=now)
        paid = store.list_commissions(conn, workspace_id, payout_id=payout["id"], limit=1)
    if paid:  # a refund after payment: a negative adjustment, the paid row untouched
        order = next(o for o in orders if o["properties"]["order_id"] == paid[0].order_id)
        _send(runtime, workspace_id, [_refund(seed, order, now)])
        processed["adjusted"] = process_workspace(runtime.engine, workspace_id)["adjusted"]
    return {"promoters": len(promoters), "touches": len(visits), "orders": len(orders),
            "commissions": processed["written"], "paid_fen": int(payout["total_fen"]),
            "adjusted": processed.get("adjusted", 0)}
