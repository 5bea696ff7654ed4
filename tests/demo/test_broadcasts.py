"""The demo brand's broadcast (both databases): a win-back e-mail to the customers who stopped buying,
filled in for each of them and scheduled for 20:00 three days on in the workspace's zone — waiting,
so its page shows the template, audience and a test send; a second run makes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from siyu.db.engine import read, write
from siyu.db.tables import profiles
from siyu.demo.broadcasts import NAME, SEGMENT, broadcasts, send_time
from siyu.demo.generate import generate
from siyu.messaging import broadcasts as broadcast
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.render import render_for, signing_of
from siyu.runtime import Runtime
from siyu.segments import membership
from siyu.segments import store as segment_store
from siyu.workspaces import store as workspace_store
from tests.conftest import make_workspace

NOW = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai


def test_the_demo_schedules_a_win_back_broadcast_filled_in_for_each_customer(runtime: Runtime) -> None:
    workspace = make_workspace(runtime, "demo")
    generate(runtime, workspace.id, customers=800, seed=5, now=NOW)
    assert broadcasts(runtime, workspace.id, now=NOW) == {}  # no win-back segment yet: nothing to send to
    with write(runtime.engine) as conn:  # the demo's segment (siyu.demo.understand makes it)
        lapsed = membership.save(conn, workspace.id, name=SEGMENT, description=None, definition={"all": [
            {"event": "Order Completed"}, {"event": "Order Completed", "did": False, "within": "90d"}]},
            actor="demo", now=NOW, timezone="Asia/Shanghai")
    made = broadcasts(runtime, workspace.id, now=NOW)
    assert made["audience"] == lapsed["size"] > 0
    assert broadcasts(runtime, workspace.id, now=NOW) == {}  # a second run changes nothing
    with read(runtime.engine) as conn:
        shown = broadcast.describe(conn, workspace.id, made["broadcast"])
        [first] = segment_store.member_ids(conn, workspace.id, lapsed["id"], limit=1)
        rendered = render_for(conn, workspace_store.get_workspace(conn, workspace.id), first, Channel.EMAIL,
                              Purpose.MARKETING, shown["template"], signing=signing_of(runtime),
                              unsubscribe_url="http://127.0.0.1:8000/u/test",  # the worker gives each its own
                              send_key=f"broadcast:{shown['id']}:{first}")
        traits = conn.execute(select(profiles.c.traits).where(profiles.c.workspace_id == workspace.id,
                                                              profiles.c.id == first)).scalar_one()
    assert (shown["name"], shown["status"], shown["content"]) == (NAME, "scheduled", None)
    assert (shown["goal"], shown["holdout_percent"]) == ({"event": "Order Completed", "within": "7d"}, 10)
    assert shown["conversions"]["counting"] and shown["conversions"]["treatment"]["people"] == 0
    assert shown["send_at"] == send_time(NOW, "Asia/Shanghai") == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert rendered.sendable, rendered.warnings
    assert rendered.payload["subject"].startswith(traits["name"])  # the demo's people have names
    assert "/m/" in rendered.payload["text"]  # their own signed member centre link
