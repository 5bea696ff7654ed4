"""The nightly evaluation of one workspace, once per local day: close the evaluation periods that
ended (announcing downgrades), settle the graces that ended (downgrading), expire due lots, write
``Points Expiring`` reminders, then the events for the tier changes, then the monthly benefits.

Each step is one write transaction of set-based statements (:mod:`siyu.loyalty.nightly_store`);
the tier steps hold the ``loyalty.events`` cursor so event processing waits for them. A crash
between steps repeats only what is left: closing a period advances ``period_index`` in its own
transaction, graces and expiry act on what is still due, a reminded lot is marked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from siyu.db.engine import write
from siyu.loyalty import earning, membership, nightly_store, store, tiers
from siyu.loyalty.follow import CURSOR
from siyu.loyalty.models import POINTS_EXPIRING, TIER_AT_RISK, TIER_CHANGED
from siyu.segments import store as cursor_store

AT_RISK = TIER_AT_RISK
MONTHLY_BATCH = 500


@dataclass
class NightlyResult:
    periods_closed: int = 0
    downgrades: int = 0
    graces: int = 0
    lots_expired: int = 0
    reminders: int = 0
    monthly: int = 0
    events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def run_nightly(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> NightlyResult:
    import time

    result = NightlyResult()
    with write(engine) as conn:
        programme, period_start, closed = store.get_programme(conn, workspace_id)
    thresholds = [t.threshold for t in programme.tiers]
    with write(engine) as conn:
        watermark = nightly_store.last_change_id(conn, workspace_id)
    started = time.perf_counter()
    due_index = tiers.period_index(period_start, programme.evaluation_days, now)
    while closed < due_index:
        ended = tiers.period_end(period_start, programme.evaluation_days, closed)
        with write(engine) as conn:
            cursor_store.claim_cursor(conn, workspace_id, CURSOR, now)
            grace_until = ended + timedelta(days=programme.grace_days)
            nightly_store.close_period(conn, workspace_id, thresholds, grace_until, now)
            closed += 1
            store.set_period_index(conn, workspace_id, closed, now)
        result.periods_closed += 1
    result.seconds["close"] = time.perf_counter() - started
    started = time.perf_counter()
    with write(engine) as conn:
        cursor_store.claim_cursor(conn, workspace_id, CURSOR, now)
        nightly_store.settle_graces(conn, workspace_id, thresholds, now)
    result.seconds["settle"] = time.perf_counter() - started
    started = time.perf_counter()
    with write(engine) as conn:
        expiring = nightly_store.members_with_due_lots(conn, workspace_id, now)
        result.lots_expired = nightly_store.expire_lots(conn, workspace_id, now)
        store.append_points_changed(conn, workspace_id, expiring, now)  # segments re-evaluate their balance
    result.seconds["expire"] = time.perf_counter() - started
    started = time.perf_counter()
    _remind(engine, workspace_id, programme.remind_days, now, result)
    _tier_events(engine, workspace_id, programme, watermark, now, result)
    result.seconds["events"] = time.perf_counter() - started
    result.monthly = grant_monthly(engine, workspace_id, timezone, now)
    return result


def _remind(engine: Engine, workspace_id: int, remind_days: int, now: datetime, result: NightlyResult) -> None:
    if not remind_days:
        return
    with write(engine) as conn:
        lots = nightly_store.remind_lots(conn, workspace_id, now + timedelta(days=remind_days), now)
        by_profile: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        for profile_id, points, expires in lots:
            by_profile[profile_id].append((points, expires))
        items = [(profile_id, POINTS_EXPIRING, {"points": sum(p for p, _ in found),
                                                "expires_at": min(e for _, e in found).isoformat(),
                                                "days": remind_days})
                 for profile_id, found in by_profile.items()]
        membership.append_events(conn, workspace_id, items, now)
    result.reminders = len(items)
    result.events += len(items)


def _tier_events(engine: Engine, workspace_id: int, programme, watermark: int, now: datetime,  # noqa: ANN001
                 result: NightlyResult) -> None:
    """``Tier Changed`` for each downgrade and ``Tier At Risk`` for each announced one, written from
    the history rows the set-based steps inserted (after ``watermark``)."""
    with write(engine) as conn:
        changes = nightly_store.changes_since(conn, workspace_id, watermark)
        items = []
        for change in changes:
            if change.reason == "grace" and programme.grace_days == 0:
                result.graces += 1
                continue  # announced and applied in the same run: only the change is news
            name = TIER_CHANGED if change.reason == "downgrade" else AT_RISK
            result.downgrades += change.reason == "downgrade"
            result.graces += change.reason == "grace"
            items.append((int(change.profile_id), name, membership.tier_event(
                programme, change.from_rank, change.to_rank, change.reason, int(change.growth_value))))
        membership.append_events(conn, workspace_id, items, now)
    result.events += len(items)


def grant_monthly(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> int:
    """Each tier's monthly offer, once per member and local month (key ``loyalty:monthly:<yyyymm>:…``),
    in batches: a claim is per person by nature (stock, limits), so this step is not set-based."""
    with write(engine) as conn:
        programme, _, _ = store.get_programme(conn, workspace_id)
    offers = {rank: t.monthly_offer_id for rank, t in enumerate(programme.tiers) if t.monthly_offer_id}
    if not offers:
        return 0
    month = earning.local_month(now, timezone)
    granted = 0
    while True:
        with write(engine) as conn:
            batch = nightly_store.members_for_monthly(conn, workspace_id, list(offers), month, MONTHLY_BATCH)
            store.lock_members(conn, workspace_id, [p for p, _ in batch], now)
            for profile_id, rank in batch:
                granted += membership.grant_offer(conn, workspace_id, offers[rank], profile_id,
                                                  f"loyalty:monthly:{month}:{rank}:{profile_id}", now)
            nightly_store.mark_monthly(conn, workspace_id, [p for p, _ in batch], month)
        if len(batch) < MONTHLY_BATCH:
            return granted
