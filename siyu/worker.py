"""``siyu worker``: the background loop that follows the event log.

Each pass first resolves acknowledged events still queued (deferred ingest,
:mod:`siyu.ingest.resolver`; ``siyu worker`` also runs a resolver thread that keeps the queue near
empty between passes), then fans due broadcasts out into the outbox and delivers due messages
(:mod:`siyu.messaging.broadcasts`, :mod:`siyu.messaging.delivery`), then visits every
workspace: for those with active segments or auto-tag rules, real-time
evaluation of the people behind new events (until the log is drained); once a day the built-in
scores and the customer-value fit; then the scheduled segment refresh when it is due. Every step
is its own short write transaction with its cursor, so any number of workers can run (they take
turns on a workspace's cursor) and ``kill -9`` at any point repeats nothing and loses nothing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from siyu import clock
from siyu.db.engine import read, write
from siyu.runtime import Runtime

log = logging.getLogger("siyu.worker")
SCORES_EVERY = timedelta(hours=24)


@dataclass
class PassResult:
    events: int = 0
    resolved: int = 0  # queued (acknowledged, deferred) events resolved into the log
    refreshed: list[int] = field(default_factory=list)  # workspaces whose scheduled refresh ran
    delivered: dict[str, int] = field(default_factory=dict)  # messages: sent, stopped, deferred, ...
    scored: list[int] = field(default_factory=list)  # workspaces whose built-in scores were recomputed


class UntilStopped(list):  # type: ignore[type-arg]
    """The workspaces, iterated only until ``stop`` is set: a step over hundreds of workspaces must not
    keep a stopping worker (its server killed) alive for the rest of them."""

    def __init__(self, items: list, stop: threading.Event | None) -> None:  # type: ignore[type-arg]
        super().__init__(items)
        self._stop = stop

    def __iter__(self):  # type: ignore[no-untyped-def]
        for item in list.__iter__(self):
            if self._stop is not None and self._stop.is_set():
                return
            yield item


def run_pass(rt: Runtime, *, refresh_every: timedelta | None = None,
             stop: threading.Event | None = None) -> PassResult:
    """One pass; with ``stop``, it ends early between steps and between workspaces once stop is set (a
    SIGTERM or the server gone), so the worker exits within one step, not a whole pass over every workspace."""
    from siyu.groups.worker import run_due as run_groups
    from siyu.growth.distribution_worker import run_due as run_distribution
    from siyu.growth.worker import run_due as run_campaigns
    from siyu.ingest.resolver import resolve_queued
    from siyu.journeys.engine import run_due as run_journeys
    from siyu.loyalty.worker import run_due as run_loyalty
    from siyu.offers.worker import run_due as run_offers
    from siyu.payments.worker import run_due as run_rewards
    from siyu.segments import realtime
    from siyu.segments import store as segment_store
    from siyu.staff.worker import run_due as run_staff
    from siyu.workspaces import store as workspace_store

    every = refresh_every or timedelta(minutes=rt.config.segment_refresh_minutes)
    result = PassResult()

    def stopping() -> bool:
        return stop is not None and stop.is_set()

    result.resolved = resolve_queued(rt.engine, stop=stop)  # acknowledged events first: everything below reads them
    run_journeys(rt.engine, stop=stop)  # before delivery, which sends what the journeys' steps queued
    if stopping():
        return result
    _deliver(rt, result, stop)
    if stopping():
        return result
    run_groups(rt)  # community groups: syncs from WeCom, group broadcasts, live-code alerts
    with read(rt.engine) as conn:
        with_segments = set(segment_store.workspaces_with_segments(conn))
        workspaces = workspace_store.list_workspaces(conn)
    for step in (run_staff,  # hand-overs, SOP rules, channel-code routing pushed to WeCom
                 run_rewards,  # cash rewards (red packets): due ones sent, uncertain ones queried first
                 run_distribution,  # distribution: orders attributed to promoters, commissions confirmed
                 run_campaigns,  # campaigns: referrals qualified, credits revoked on unfollow, prizes at the end
                 run_offers,  # offers: unused claims past their validity expire
                 run_loyalty):  # loyalty: growth, points and tasks from the log; nightly tiers and expiry
        if stopping():  # each step covers every workspace: with many, a pass is long; stop between them
            return result
        step(rt, UntilStopped(workspaces, stop))  # and between a step's workspaces
    for workspace in workspaces:
        if stopping():
            break
        if workspace.id in with_segments:
            while True:
                with write(rt.engine) as conn:
                    progress = realtime.process_new_events(conn, workspace.id, clock.now(), workspace.timezone)
                result.events += progress.events
                if progress.events < realtime.BATCH:
                    break
        with write(rt.engine) as conn:  # scores first: segments may read them
            scored = realtime.scores_if_due(conn, workspace.id, clock.now(), workspace.settings, SCORES_EVERY)
        if scored is not None:
            result.scored.append(workspace.id)
            _fit_customer_value(rt, workspace.id)
        if workspace.id in with_segments:
            with write(rt.engine) as conn:
                if realtime.refresh_if_due(conn, workspace.id, clock.now(), workspace.timezone, every) is not None:
                    result.refreshed.append(workspace.id)
    return result


def _deliver(rt: Runtime, result: PassResult, stop: threading.Event | None = None) -> None:
    """Due broadcasts fanned out into the outbox, then due outbox messages, in rounds until none is due
    or ``stop`` is set (each round is its own transactions)."""
    from siyu.messaging.broadcasts import fan_out_due
    from siyu.messaging.delivery import CLAIM, deliver_round

    fan_out_due(rt.engine)
    while True:
        report = deliver_round(rt)
        handled = 0
        for what in ("sent", "stopped", "deferred", "retried", "failed", "uncertain"):
            count = getattr(report, what)
            handled += count
            if count:
                result.delivered[what] = result.delivered.get(what, 0) + count
        if handled < CLAIM or (stop is not None and stop.is_set()):
            return


def _fit_customer_value(rt: Runtime, workspace_id: int) -> None:
    """The daily BG/NBD + Gamma-Gamma fit; a young brand without enough repeat buyers just has none yet."""
    from siyu.analytics.clv import ClvOptions
    from siyu.analytics.clv_errors import NotEnoughData
    from siyu.analytics.clv_job import run_fit

    try:
        run_fit(rt.engine, workspace_id, ClvOptions(), now=clock.now())
    except NotEnoughData:
        log.info("workspace %s: not enough repeat buyers for a customer-value fit yet", workspace_id)


def run_forever(rt: Runtime, stop: threading.Event, interval: float = 1.0) -> None:
    while not stop.is_set():
        try:
            run_pass(rt, stop=stop)
        except Exception:  # noqa: BLE001 - logged; the next pass retries from the cursors
            log.exception("worker pass failed; retrying in %.0f s", interval * 5)
            stop.wait(interval * 5)
            continue
        stop.wait(interval)
