"""The demo brand's growth tasks: five tasks counted from the brand's history, completions rewarded
with points and ``Task Completed`` events that loyalty turns into growth, and a second run that
changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.db.engine import read
from siyu.db.tables import events, points_entries
from siyu.demo.generate import generate
from siyu.demo.loyalty import loyalty
from siyu.demo.loyalty_tasks import growth_tasks
from siyu.loyalty import tasks_service, worker

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_demo_brand_has_tasks_with_progress_and_rewarded_completions(runtime, workspace) -> None:  # noqa: ANN001
    generate(runtime, workspace.id, customers=120, seed=3, now=NOW)
    loyalty(runtime, workspace.id, seed=3, now=NOW)
    made = growth_tasks(runtime, workspace.id, seed=3, now=NOW)
    assert made["tasks"] == 5 and made["completions"] > 10 and made["rewards"] == made["completions"]
    assert made["rewards_pending"] == 0  # 120 customers: fewer completions than one step delivers
    with read(runtime.engine) as conn:
        listed = {t["key"]: t for t in tasks_service.list_tasks(conn, workspace.id)}
        completed = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id, events.c.name == "Task Completed")).scalar_one()
        task_points = conn.execute(select(func.count()).select_from(points_entries).where(
            points_entries.c.workspace_id == workspace.id, points_entries.c.reason.like("task:%"))).scalar_one()
    assert listed["salon"]["completions"] == 12 and listed["reviews"]["people"] > 0
    assert listed["follow"]["completions"] > 0 and listed["profile"]["people"] > 0
    assert completed == made["completions"] == task_points
    assert worker.follow_log(runtime.engine, workspace.id, "Asia/Shanghai", NOW) > 0  # growth from the tasks
    assert growth_tasks(runtime, workspace.id, seed=3, now=NOW) == {}
