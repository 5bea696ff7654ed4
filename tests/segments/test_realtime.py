"""Real-time evaluation follows the log: each new event re-evaluates its person once, membership
changes become Segment Entered / Exited events, and the scheduled refresh catches the passing of time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.runtime import Runtime
from siyu.segments import membership
from siyu.worker import run_pass
from tests.ingest.test_pipeline import NOW, send
from tests.profiles.test_cli import siyu

REPEAT_BUYERS = {"event": "Order Completed", "measure": "count", "op": "gte", "value": 2, "within": "30d"}


def _save(runtime: Runtime, workspace_id: int, name: str, definition: dict) -> int:
    with write(runtime.engine) as conn:
        return membership.save(conn, workspace_id, name=name, description=None, definition=definition, actor="test",
                               now=clock.now(), timezone="Asia/Shanghai")["id"]


def _segment_events(runtime: Runtime, workspace_id: int) -> list[tuple[str, int]]:
    with read(runtime.engine) as conn:
        rows = conn.execute(select(events.c.name, events.c.profile_id).where(
            events.c.workspace_id == workspace_id, events.c.source == "segments").order_by(events.c.id))
        return [(r.name, r.profile_id) for r in rows]


def test_the_second_order_enters_the_person_and_time_takes_them_out(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    segment_id = _save(runtime, workspace.id, "复购", REPEAT_BUYERS)
    send(runtime, workspace.id, {"type": "track", "userId": "a", "event": "Order Completed",
                                 "properties": {"revenue": 99}})
    run_pass(runtime)
    assert _segment_events(runtime, workspace.id) == []
    clock.advance(timedelta(days=2))
    send(runtime, workspace.id, {"type": "track", "userId": "a", "event": "Order Completed",
                                 "properties": {"revenue": 99}})
    result = run_pass(runtime)
    assert result.events >= 1
    [(name, person)] = _segment_events(runtime, workspace.id)
    assert name == "Segment Entered"
    run_pass(runtime)
    assert len(_segment_events(runtime, workspace.id)) == 1, "a second pass repeats nothing"
    clock.advance(timedelta(days=29))  # the first order leaves the 30-day window: no event says so
    result = run_pass(runtime, refresh_every=timedelta(minutes=15))
    assert workspace.id in result.refreshed
    assert _segment_events(runtime, workspace.id) == [("Segment Entered", person), ("Segment Exited", person)]
    with read(runtime.engine) as conn:
        sizes = conn.execute(select(events.c.properties).where(
            events.c.workspace_id == workspace.id, events.c.source == "segments")).scalars().all()
    assert all(p["segment_id"] == segment_id for p in sizes)


def test_unrelated_events_do_not_reevaluate_event_only_segments(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    _save(runtime, workspace.id, "viewers", {"event": "Product Viewed"})
    with write(runtime.engine) as conn:
        changes = membership.evaluate_profiles(conn, workspace.id, [1, 2, 3], {"Order Completed"}, NOW,
                                               "Asia/Shanghai", profile_changed=False)
    assert changes == {}


def test_the_worker_command_runs_one_pass(runtime: Runtime, database_url: str, workspace) -> None:
    clock.freeze(NOW)
    _save(runtime, workspace.id, "buyers", {"event": "Order Completed"})
    clock.unfreeze()
    send(runtime, workspace.id, {"type": "track", "userId": "z", "event": "Order Completed",
                                 "properties": {"revenue": 5}})
    result = siyu(database_url, "worker", "--once")
    assert result.returncode == 0, result.stderr
    assert [name for name, _ in _segment_events(runtime, workspace.id)] == ["Segment Entered"]
