"""Broadcasts (群发): one message to every member of a segment, now or at a time, throttled.

A broadcast is a row; the worker fans it out into outbox rows in chunks of segment members taken
in profile-id order, each chunk in one transaction with the cursor that records it, so a crash
mid fan-out neither skips nor repeats anyone. The contact policy decides for the whole chunk as it
is fanned out (facts read set-based, :mod:`siyu.messaging.bulk_facts`): people it stops get their
row as ``stopped`` with the reason right away, deferrals are queued for the time they may be sent.
Rows it lets through are decided again by the delivery worker when they are sent, because caps
and cooldowns depend on what has gone out by then. Throttling spaces the messages' due times
(``rate_per_minute``), so the outbox holds the schedule and any number of workers keep to it.

Before sending, :func:`preview` gives the audience and what the policy would decide for a sample
of it; :func:`test_send` queues the message to chosen people (marked as a test, its own keys).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from siyu import clock
from siyu.db.engine import write
from siyu.messaging import broadcast_store as store
from siyu.messaging import outbox, policies
from siyu.messaging.bulk_facts import facts_many
from siyu.messaging.models import Channel, Purpose, Status, Verdict
from siyu.messaging.outbox import MessagingError
from siyu.messaging.store import sending_scope
from siyu.segments import store as segment_store
from siyu.workspaces import store as workspace_store

CHUNK = 5000  # people per fan-out transaction: ~0.1 s of write lock on SQLite
PREVIEW_SAMPLE = 200


def create(conn: Connection, workspace_id: int, *, name: str, segment_id: int, channel: Channel, purpose: Purpose,
           content: dict[str, Any], send_at: datetime | None, rate_per_minute: int | None, created_by: str | None,
           now: datetime) -> dict[str, Any]:
    if not name.strip() or len(name) > 200:
        raise MessagingError("A broadcast needs a name of 1-200 characters.", details={"field": "name"})
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 1_000_000:
        raise MessagingError("'rate_per_minute' must be between 1 and 1,000,000.",
                             details={"field": "rate_per_minute"})
    segment_store.get_segment(conn, workspace_id, segment_id)  # 404 for a segment of another workspace
    outbox.validate_content(channel, content)
    broadcast_id = store.create(conn, workspace_id, name=name.strip(), segment_id=segment_id, channel=channel,
                                purpose=purpose, content=content, send_at=max(send_at or now, now),
                                rate_per_minute=rate_per_minute, created_by=created_by, now=now)
    return describe(conn, workspace_id, broadcast_id)


def describe(conn: Connection, workspace_id: int, broadcast_id: int) -> dict[str, Any]:
    found = store.get(conn, workspace_id, broadcast_id)
    if found is None:
        raise MessagingError(f"No broadcast {broadcast_id} in this workspace.", code="messaging.not_found",
                             status=404, details={"broadcast_id": broadcast_id})
    return {**found, "figures": store.figures(conn, workspace_id, broadcast_id)}


def cancel(conn: Connection, workspace_id: int, broadcast_id: int, now: datetime) -> dict[str, Any]:
    found = describe(conn, workspace_id, broadcast_id)
    if found["status"] in ("done", "cancelled") and not found["figures"].get("queued"):
        raise MessagingError(f"Broadcast {broadcast_id} is {found['status']}; nothing is left to cancel.",
                             code="messaging.conflict", status=409)
    store.cancel(conn, workspace_id, broadcast_id, now)
    return describe(conn, workspace_id, broadcast_id)


def preview(conn: Connection, workspace_id: int, *, segment_id: int, channel: Channel, purpose: Purpose,
            now: datetime) -> dict[str, Any]:
    """Audience size and the policy's verdicts on a sample (the first members by id)."""
    segment = segment_store.get_segment(conn, workspace_id, segment_id)
    sample = store.next_members(conn, workspace_id, segment_id, 0, PREVIEW_SAMPLE)
    workspace = workspace_store.get_workspace(conn, workspace_id)
    verdicts: dict[str, int] = {}
    for verdict, _ in decide_many(conn, workspace, sample, channel, purpose, now):
        key = verdict.action if verdict.action == "send" else f"{verdict.action}:{verdict.reason}"
        verdicts[key] = verdicts.get(key, 0) + 1
    return {"segment_id": segment_id, "audience": segment.get("size", len(sample)), "sample": len(sample),
            "verdicts": verdicts}


def test_send(conn: Connection, workspace_id: int, broadcast_id: int, profile_ids: list[int],
              now: datetime) -> list[int]:
    """The broadcast's message to chosen people now, through the same policies; each call sends again."""
    found = describe(conn, workspace_id, broadcast_id)
    if not 1 <= len(profile_ids) <= 20:
        raise MessagingError("A test send goes to 1-20 people.", details={"field": "profile_ids"})
    nonce = uuid.uuid4().hex[:12]
    queued = []
    for profile_id in profile_ids:
        message, _ = outbox.queue(conn, workspace_id, profile_id=profile_id, channel=Channel(found["channel"]),
                                  purpose=Purpose(found["purpose"]), content=found["content"], now=now,
                                  source=f"broadcast-test:{broadcast_id}", key=f"{nonce}:{profile_id}")
        queued.append(message.id)
    return queued


def decide_many(conn: Connection, workspace: Any, profile_ids: list[int], channel: Channel, purpose: Purpose,
                now: datetime) -> list[tuple[Verdict, str | None]]:
    """The contact policy's verdict and the address, for each of ``profile_ids`` (live profiles), in order."""
    settings = policies.settings_from((workspace.settings or {}).get("messaging"), workspace.timezone)
    facts = facts_many(conn, workspace.id, profile_ids, channel, now, sending_scope(workspace.settings, channel))
    # The policy reads the address only for whether there is one; people with the same facts
    # otherwise (most have no recent message) get the same verdict, decided once.
    verdicts: dict[tuple[Any, ...], Verdict] = {}
    decided = []
    for pid in profile_ids:
        known = facts[pid]
        key = (tuple(sorted(known.consents.items())), bool(known.address), known.wechat_followed,
               known.last_user_message_at, known.history, known.subscription)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = policies.decide(channel, purpose, known, settings, now)
        decided.append((verdict, known.address))
    return decided


def fan_out_due(engine: Engine, *, workspace_id: int | None = None, chunk: int = CHUNK) -> int:
    """Queue the next chunk of every due broadcast until all are fanned out; returns people decided."""
    total = 0
    while True:
        now = clock.now()
        progressed = 0
        with write(engine) as conn:
            for broadcast in store.due(conn, now, workspace_id):
                members = store.next_members(conn, broadcast["workspace_id"], broadcast["segment_id"],
                                             broadcast["fanout_after"], chunk)
                step = store.spacing(broadcast["rate_per_minute"])
                start = broadcast["send_at"] if broadcast["rate_per_minute"] else now
                workspace = workspace_store.get_workspace(conn, broadcast["workspace_id"])
                verdicts = decide_many(conn, workspace, members, Channel(broadcast["channel"]),
                                       Purpose(broadcast["purpose"]), now)
                rows = []
                for i, (verdict, _) in enumerate(verdicts):
                    due_at = max(start + step * (broadcast["queued"] + i), now)
                    if verdict.action == "stop":
                        rows.append(store.Row(Status.STOPPED, due_at, verdict.reason, verdict.detail))
                    elif verdict.action == "defer":
                        assert verdict.until is not None
                        rows.append(store.Row(Status.QUEUED, max(due_at, verdict.until), verdict.reason,
                                              verdict.detail))
                    else:
                        rows.append(store.Row(Status.QUEUED, due_at))
                store.queue_many(conn, broadcast, members, rows, now)
                store.advance(conn, broadcast, after=members[-1] if members else broadcast["fanout_after"],
                              queued=broadcast["queued"] + len(members), done=len(members) < chunk, now=now)
                progressed += len(members)
        total += progressed
        if progressed == 0:
            return total
