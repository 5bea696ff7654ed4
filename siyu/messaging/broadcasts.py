"""Broadcasts (群发): one message to every member of a segment, now or at a time, throttled.

A broadcast is a row; the worker fans it out into outbox rows in chunks of segment members taken
in profile-id order, each chunk in one transaction with the cursor that records it, so a crash
mid fan-out neither skips nor repeats anyone. Every message then goes through the same contact
policy as any other, at delivery time. Throttling spaces the messages' due times
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
from siyu.messaging import outbox
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.outbox import MessagingError
from siyu.segments import store as segment_store
from siyu.workspaces import store as workspace_store

CHUNK = 1000
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
    for profile_id in sample:  # members are live profiles: no merge to follow
        verdict, _ = outbox.decide_now(conn, workspace, profile_id, channel, purpose, now)
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


def fan_out_due(engine: Engine, *, workspace_id: int | None = None, chunk: int = CHUNK) -> int:
    """Queue the next chunk of every due broadcast until all are fanned out; returns messages queued."""
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
                due_at = [max(start + step * (broadcast["queued"] + i), now) for i in range(len(members))]
                store.queue_many(conn, broadcast, members, due_at, now)
                store.advance(conn, broadcast, after=members[-1] if members else broadcast["fanout_after"],
                              queued=broadcast["queued"] + len(members), done=len(members) < chunk, now=now)
                progressed += len(members)
        total += progressed
        if progressed == 0:
            return total
