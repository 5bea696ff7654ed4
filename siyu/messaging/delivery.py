"""The delivery worker: claim due outbox rows, apply the contact policy, hand them to channels.

Each decision is written before it is acted on, so that no crash can send twice or lose a message:

1. claim (one transaction for a batch): for each due row, the policy decides; a stop or a deferral
   is written with its reason; a send becomes ``claimed`` with a lease (other workers skip it);
2. hand-over (one small transaction per message): ``sending``, one more attempt, a fresh lease —
   committed *before* the channel is called;
3. after the channel answered: ``sent`` with the provider's id, or a retry with exponential backoff,
   or ``dead`` after the last attempt, or ``failed`` for a permanent refusal — with a ``Message Sent``
   or ``Message Failed`` event on the person in the same transaction (:mod:`siyu.messaging.receipts`),
   and what the refusal says about the person (an ``Unfollowed`` for WeChat's 43004). A quota that
   resets at a known time (WeChat's daily quota, 00:00 Beijing time) holds the message ``queued``
   until then, without using up an attempt.

Links are tracked (:mod:`siyu.messaging.tracking`) in step 1, when the payload to send is written:
the log shows the links the person got, and a retry reuses the same tokens.

Hand-overs run on a few threads (:data:`SEND_THREADS`) in lanes, so one slow provider call doesn't hold up the
rest; each channel of each workspace keeps to its ``concurrency`` and ``rate_per_second``
(:mod:`siyu.messaging.pacing`).

A worker killed after 1 leaves ``claimed`` rows: when their lease runs out they are decided again
and sent — they never left. One killed after 2 leaves one ``sending`` row: the next claim decides by
the channel: an idempotent one (webhook, deduped by the receiver on the delivery key) is sent
again; any other is marked ``uncertain`` and not sent again — the person may have it, and "never
twice" wins over "at least once" for messages to people.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from siyu import clock
from siyu.channels.base import Adapter, ChannelError, Delivery
from siyu.db.engine import write
from siyu.messaging import pacing, receipts, store, tracking
from siyu.messaging.channels import adapter_for
from siyu.messaging.models import Message, Status
from siyu.messaging.outbox import POLICY_KEY, TEMPLATE_KEY, decide_now
from siyu.workspaces import store as workspace_store

if TYPE_CHECKING:
    from siyu.runtime import Runtime

log = logging.getLogger("siyu.messaging")

LEASE = timedelta(minutes=2)  # longer than any channel's timeout
MAX_ATTEMPTS = 6
BACKOFF = timedelta(seconds=30)  # 30 s, 1 min, 2 min, 4 min, 8 min
CLAIM = 100
SEND_THREADS = 8  # hand-overs in flight per worker, across channels (each channel also has its own limit)


@dataclass
class DeliveryReport:
    sent: int = 0
    stopped: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, what: str, reason: str | None = None) -> None:
        with self._lock:  # sends report from several threads
            setattr(self, what, getattr(self, what) + 1)
            if reason:
                self.reasons[reason] = self.reasons.get(reason, 0) + 1


AdapterLookup = Callable[[Any, Message], Adapter]


def deliver_due(engine: Engine, *, adapters: AdapterLookup = adapter_for, limit: int = CLAIM,
                unsubscribe_url: Callable[[Message], str | None] | None = None,
                workspace_id: int | None = None, public_url: str | None = None,
                signing: tuple[str, str] | None = None) -> DeliveryReport:
    """One round: claim up to ``limit`` due messages (of one workspace, or all), decide, send, record.
    ``public_url`` (``SIYU_PUBLIC_URL``) turns on link and open tracking; ``signing`` (public URL,
    secret) lets templates call ``member_centre_link()`` and ``survey_link(id)``."""
    report = DeliveryReport()
    now = clock.now()
    with write(engine) as conn:
        claimed = store.claim_due(conn, now, limit, workspace_id)
        workspaces = {ws: workspace_store.get_workspace(conn, ws) for ws in {m.workspace_id for m in claimed}}
        to_send: list[tuple[Message, Any]] = []
        for message in sorted(claimed, key=lambda m: (m.workspace_id, m.profile_id, m.id)):
            workspace = workspaces[message.workspace_id]
            if message.status is Status.SENDING:  # its worker died after handing it to the channel
                if _idempotent(adapters, workspace, message):
                    to_send.append((message, workspace))  # the receiver dedupes on the delivery key
                else:
                    store.update_message(conn, message, now, status=Status.UNCERTAIN, reason="delivery.interrupted",
                                         detail="A worker stopped while sending; the channel can't tell a repeat, "
                                                "so it is not sent again.", lease_until=None)
                    report.count("uncertain", "delivery.interrupted")
                continue
            # queued and due, or claimed by a worker that died before handing it over: decide (again)
            store.lock_person(conn, message.workspace_id, message.profile_id)
            verdict, facts = decide_now(conn, workspace, message.profile_id, message.channel, message.purpose, now,
                                        excluding=message.id, overrides=message.payload.get(POLICY_KEY))
            if verdict.action == "stop":
                store.update_message(conn, message, now, status=Status.STOPPED, reason=verdict.reason,
                                     detail=verdict.detail, lease_until=None, sent_at=None)
                report.count("stopped", verdict.reason)
            elif verdict.action == "defer":
                store.update_message(conn, message, now, status=Status.QUEUED, due_at=verdict.until,
                                     reason=verdict.reason, detail=verdict.detail, lease_until=None, sent_at=None)
                report.count("deferred", verdict.reason)
            else:
                if TEMPLATE_KEY in message.payload and not _rendered(conn, workspace, message, now, report,
                                                                     unsubscribe_url, signing):
                    continue
                if public_url:
                    message.payload = tracking.track(conn, workspace, message, public_url, now)
                store.update_message(conn, message, now, status=Status.CLAIMED, recipient=facts.address,
                                     lease_until=now + LEASE, sent_at=now, reason=None, detail=None,
                                     payload=message.payload)
                message.recipient = facts.address
                to_send.append((message, workspace))
    lanes = _lanes(to_send)
    if len(lanes) == 1:
        _run_lane(engine, adapters, *lanes[0], report, unsubscribe_url)
    elif lanes:
        with ThreadPoolExecutor(min(SEND_THREADS, len(lanes)), thread_name_prefix="siyu-send") as pool:
            for future in [pool.submit(_run_lane, engine, adapters, *lane, report, unsubscribe_url)
                           for lane in lanes]:
                future.result()
    return report


def deliver_round(rt: Runtime, *, workspace_id: int | None = None, limit: int = CLAIM) -> DeliveryReport:
    """One round as it runs in production: :func:`deliver_due` with the runtime's unsubscribe links
    and ``SIYU_PUBLIC_URL`` for link and open tracking. ``siyu worker`` and ``siyu messages deliver``
    both call this, so a message delivered from the command line is the message the worker would send
    (tracked links, open pixel, one-click unsubscribe) — not a bare copy of it."""
    from siyu.messaging.unsubscribe import links

    return deliver_due(rt.engine, limit=limit, unsubscribe_url=links(rt), workspace_id=workspace_id,
                       public_url=rt.config.public_url, signing=(rt.config.public_url, rt.session_secret()))


Lane = tuple[Any, str, pacing.Limits, list[Message]]


def _lanes(to_send: list[tuple[Message, Any]]) -> list[Lane]:
    """The round's hand-overs as lanes: each channel of each workspace split round-robin over as many
    lanes as its ``concurrency`` allows (bad limits in settings: the defaults); a lane sends in claim
    order, so a channel with ``concurrency: 1`` keeps the order exactly."""
    groups: dict[tuple[int, str], tuple[Any, pacing.Limits, list[list[Message]]]] = {}
    for message, workspace in to_send:
        section = "wechat" if message.channel.value.startswith("wechat") else message.channel.value
        group = groups.get((workspace.id, section))
        if group is None:
            config = ((workspace.settings or {}).get("channels") or {}).get(section)
            try:
                limits = pacing.limits_of(config if isinstance(config, dict) else None)
            except (TypeError, ValueError):
                limits = pacing.Limits()
            group = groups[(workspace.id, section)] = (workspace, limits, [])
        _, limits, lanes = group
        if len(lanes) < limits.concurrency:
            lanes.append([message])
        else:
            lanes[sum(len(lane) for lane in lanes) % limits.concurrency].append(message)
    return [(workspace, section, limits, lane) for (_, section), (workspace, limits, lanes) in groups.items()
            for lane in lanes]


def _run_lane(engine: Engine, adapters: AdapterLookup, workspace: Any, section: str, limits: pacing.Limits,
              lane: list[Message], report: DeliveryReport,
              unsubscribe_url: Callable[[Message], str | None] | None) -> None:
    """One lane's messages in order, each within the channel's concurrency and rate."""
    for message in lane:
        with pacing.PACER.turn(workspace.id, section, limits):
            _send(engine, adapters, workspace, message, report, unsubscribe_url)


def _rendered(conn: Any, workspace: Any, message: Message, now: datetime, report: DeliveryReport,
              unsubscribe_url: Callable[[Message], str | None] | None,
              signing: tuple[str, str] | None = None) -> bool:
    """Render the message's template for its person now; the rendered payload replaces the template
    (the log shows what was sent). A render the platform would refuse stops the message. The message's
    idempotency key is the send a ``survey_link()`` in it stands for: one per journey entry and step,
    broadcast and person, or API key — so a re-sent survey can be answered again, and a message
    rendered again (a claim taken over) signs the same link."""
    from siyu.messaging.render import EVENT_KEY, render_for
    from siyu.messaging.template_models import InvalidTemplate

    event = message.payload.get(EVENT_KEY)
    try:
        rendered = render_for(conn, workspace, message.profile_id, message.channel, message.purpose,
                              message.payload[TEMPLATE_KEY], unsubscribe_url(message) if unsubscribe_url else None,
                              event if isinstance(event, dict) else None, signing,
                              send_key=message.idempotency_key)
    except InvalidTemplate as error:
        store.update_message(conn, message, now, status=Status.FAILED, reason=error.code,
                             detail=error.message[:500], lease_until=None, sent_at=None)
        report.count("failed", error.code)
        return False
    if not rendered.sendable:
        blocking = "; ".join(f"{w.field}: {w.message}" for w in rendered.warnings if w.blocking)
        store.update_message(conn, message, now, status=Status.STOPPED, reason="template.blocked",
                             detail=blocking[:500], lease_until=None, sent_at=None)
        report.count("stopped", "template.blocked")
        return False
    # the rendered payload replaces the template and the event it read; siyu's own keys ($track_links,
    # $policy) stay with it
    own = {k: v for k, v in message.payload.items() if k.startswith("$") and k not in (TEMPLATE_KEY, EVENT_KEY)}
    message.payload = {**rendered.payload, **own}
    return True


def _idempotent(adapters: AdapterLookup, workspace: Any, message: Message) -> bool:
    try:
        return adapters(workspace, message).idempotent
    except ChannelError:
        return False


def _send(engine: Engine, adapters: AdapterLookup, workspace: Any, message: Message, report: DeliveryReport,
          unsubscribe_url: Callable[[Message], str | None] | None) -> None:
    delivery = Delivery(key=f"{message.workspace_id}:{message.id}", workspace_id=message.workspace_id,
                        profile_id=message.profile_id, recipient=message.recipient or "", purpose=message.purpose.value,
                        payload=tracking.sendable(message.payload),
                        unsubscribe_url=unsubscribe_url(message) if unsubscribe_url else None)
    handed = clock.now()
    with write(engine) as conn:  # the hand-over is recorded first: a crash after it is "uncertain", before it is not
        store.update_message(conn, message, handed, status=Status.SENDING, attempts=message.attempts + 1,
                             lease_until=handed + LEASE)
    message.attempts += 1
    try:
        provider_id = adapters(workspace, message).send(delivery)
    except ChannelError as error:
        _failed(engine, message, error, report)
        return
    except Exception as error:  # noqa: BLE001 - an adapter bug must not kill the worker; retried, then dead
        log.exception("channel %s raised", message.channel.value)
        _failed(engine, message, ChannelError("delivery.error", f"{type(error).__name__}: {error}", retryable=True),
                report)
        return
    with write(engine) as conn:
        now = clock.now()
        store.update_message(conn, message, now, status=Status.SENT, provider_id=provider_id, lease_until=None)
        receipts.record_sent(conn, message, provider_id, now)
    report.count("sent")


def _failed(engine: Engine, message: Message, error: ChannelError, report: DeliveryReport) -> None:
    now = clock.now()
    with write(engine) as conn:
        if error.code.endswith(".uncertain"):  # may have reached the provider (a read timeout): never again
            store.update_message(conn, message, now, status=Status.UNCERTAIN, reason=error.code,
                                 detail=error.detail[:500], lease_until=None)
            report.count("uncertain", error.code)
        elif not error.retryable:
            store.update_message(conn, message, now, status=Status.FAILED, reason=error.code,
                                 detail=error.detail[:500], lease_until=None, sent_at=None)
            receipts.record_failed(conn, message, error.code, error.detail, now)
            if error.person_event is not None:  # what the refusal says about the person, with the failure
                name, properties = error.person_event
                receipts.record_event(conn, message.workspace_id, message.profile_id, name,
                                      {**receipts.about(message), **properties}, now)
            report.count("failed", error.code)
        elif error.retry_at is not None:  # a quota that resets at a known time: wait for it, no attempt used
            store.update_message(conn, message, now, status=Status.QUEUED, due_at=max(error.retry_at, now),
                                 attempts=message.attempts - 1, reason=error.code, detail=error.detail[:500],
                                 lease_until=None, sent_at=None)
            message.attempts -= 1
            report.count("deferred", error.code)
        elif message.attempts >= MAX_ATTEMPTS:
            store.update_message(conn, message, now, status=Status.DEAD, reason=error.code,
                                 detail=error.detail[:500], lease_until=None, sent_at=None)
            receipts.record_failed(conn, message, error.code, error.detail, now)
            report.count("failed", error.code)
        else:
            retry_at = now + BACKOFF * (2 ** (message.attempts - 1))
            store.update_message(conn, message, now, status=Status.QUEUED, due_at=retry_at, reason=error.code,
                                 detail=error.detail[:500], lease_until=None, sent_at=None)
            report.count("retried", error.code)

