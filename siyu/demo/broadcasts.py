"""A win-back broadcast in the demo brand: to the customers who bought before but not in 90 days
(the segment :mod:`siyu.demo.understand` makes), filled in for each of them — their name, their member
centre — measured by orders within seven days against a tenth of them kept back, and scheduled for
20:00 three days on, throttled, so the console's broadcast pages show one waiting with its template,
its goal, its audience and the contact policy's verdicts, ready for a test send.

Scheduled rather than sent: the demo's channels reach real providers only once configured (or the
fake ones under ``siyu demo --sandbox``), and a broadcast that has gone can't be shown waiting.

Idempotent: a workspace that has the broadcast already is left as it is.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime

NAME = "老客回购提醒 · Win-back reminder"
SEGMENT = "90天未下单的老客"  # made by siyu.demo.understand, which runs first
RATE_PER_MINUTE = 600
GOAL = {"event": "Order Completed", "within": "7d"}
HOLDOUT_PERCENT = 10
TEMPLATE = {
    "subject": {"zh": "{{ profile.traits.name | default('亲爱的顾客') }}，好久不见",
                "en": "{{ profile.traits.name | default('Hello') }}, it has been a while"},
    "text": {"zh": "我们为老朋友留了一份回购礼，到会员中心看看：{{ member_centre_link() }}",
             "en": "We kept a welcome-back gift for you. See it in your member centre: {{ member_centre_link() }}"},
}


def send_time(now: datetime, timezone: str) -> datetime:
    """20:00 in the workspace's zone, three days from now: the evening hour such reminders go out at."""
    zone = ZoneInfo(timezone)
    day = (now.astimezone(zone) + timedelta(days=3)).date()
    return datetime.combine(day, time(20, 0), zone)


def broadcasts(runtime: Runtime, workspace_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Schedule the broadcast; what was made, in figures (nothing without the segment or when it exists)."""
    from siyu.messaging import broadcast_store
    from siyu.messaging import broadcasts as broadcast
    from siyu.messaging.models import Channel, Purpose
    from siyu.segments import store as segment_store
    from siyu.workspaces import store as workspace_store

    now = now or clock.now()
    with write(runtime.engine) as conn:
        if any(b["name"] == NAME for b in broadcast_store.listing(conn, workspace_id)):
            return {}
        segment = next((s for s in segment_store.list_segments(conn, workspace_id) if s["name"] == SEGMENT), None)
        if segment is None:
            return {}
        workspace = workspace_store.get_workspace(conn, workspace_id)
        made = broadcast.create(conn, workspace_id, name=NAME, segment_id=segment["id"], channel=Channel.EMAIL,
                                purpose=Purpose.MARKETING, content=None, template=TEMPLATE,
                                send_at=send_time(now, workspace.timezone), rate_per_minute=RATE_PER_MINUTE,
                                created_by="demo", now=now, goal=GOAL, holdout_percent=HOLDOUT_PERCENT)
    return {"broadcast": made["id"], "audience": segment["size"], "send_at": made["send_at"].isoformat()}
