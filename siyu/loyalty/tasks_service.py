"""Growth tasks' entry points for the API, the CLI, the console and the member centre: define tasks,
read a person's progress, and mark attendance (which writes the event the task counts; the worker
turns events into progress and rewards: :mod:`siyu.loyalty.tasks_worker`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from siyu.loyalty import tasks_rules, tasks_store
from siyu.loyalty.errors import KeyReused
from siyu.loyalty.models import EVENT_SOURCE
from siyu.loyalty.tasks_errors import NotAttendance, TaskExists, TaskInvalid, TaskNotFound
from siyu.loyalty.tasks_models import UPDATABLE, Task, TaskDefinition, TaskKind


def _timezone(conn: Connection, workspace_id: int) -> str:
    from siyu.workspaces import store as workspace_store

    return workspace_store.get_workspace(conn, workspace_id).timezone


def check_task(values: Any) -> TaskDefinition:
    if not isinstance(values, dict):
        raise TaskInvalid("A task is one JSON object.", details={"field": "task"})
    try:
        return TaskDefinition.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "task"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise TaskInvalid(f"The task does not hold together: {field}: {message}.",
                          details={"field": field, "errors": len(error.errors())}) from None


def _check_offer(conn: Connection, workspace_id: int, definition: TaskDefinition) -> None:
    if definition.offer_id is None:
        return
    from siyu.offers import store as offers_store
    from siyu.offers.errors import OffersError

    try:
        offers_store.get_offer(conn, workspace_id, definition.offer_id)
    except OffersError:
        raise TaskInvalid(f"No offer {definition.offer_id} in this workspace: create it first (siyu offers).",
                          details={"field": "offer_id"}) from None


def create_task(conn: Connection, workspace_id: int, values: Any, *, now: datetime) -> Task:
    definition = check_task(values)
    _check_offer(conn, workspace_id, definition)
    if definition.starts_at is None:
        definition.starts_at = now  # progress counts from the task's creation unless told otherwise
    task_id = tasks_store.insert_task(conn, workspace_id, definition, now)
    if task_id is None:
        raise TaskExists(f"A task with key {definition.key!r} exists: pick another key or update that task.",
                         details={"key": definition.key})
    return get_task(conn, workspace_id, task_id)


def get_task(conn: Connection, workspace_id: int, task_id: int) -> Task:
    task = tasks_store.get_task(conn, workspace_id, task_id)
    if task is None:
        raise TaskNotFound(f"No task {task_id} in this workspace.", details={"task_id": task_id})
    return task


def update_task(conn: Connection, workspace_id: int, task_id: int, changes: Any, *, now: datetime) -> Task:
    """Change a task's names, counting, target, schedule or rewards. Its key and kind stay (past
    progress and the ``Task Completed`` events name them). A new target applies to periods still
    open; completed ones stay completed."""
    if not isinstance(changes, dict):
        raise TaskInvalid("The changes are one JSON object.", details={"field": "task"})
    fixed = sorted(set(changes) - UPDATABLE)
    if fixed:
        raise TaskInvalid(f"These fields can't be changed: {', '.join(fixed)} (create a new task instead).",
                          details={"field": fixed[0]})
    task = get_task(conn, workspace_id, task_id)
    definition = check_task({**task.definition.model_dump(mode="json"), **changes})
    _check_offer(conn, workspace_id, definition)
    tasks_store.save_task(conn, workspace_id, task_id, definition, now)
    return get_task(conn, workspace_id, task_id)


def deactivate_task(conn: Connection, workspace_id: int, task_id: int, *, now: datetime) -> Task:
    return update_task(conn, workspace_id, task_id, {"active": False}, now=now)


def list_tasks(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    """Every task with how many people made progress and how many completions (all periods)."""
    counts = tasks_store.completion_counts(conn, workspace_id)
    return [{**t.to_dict(), "people": counts.get(t.id, (0, 0))[0], "completions": counts.get(t.id, (0, 0))[1]}
            for t in tasks_store.list_tasks(conn, workspace_id)]


def _live_profile(conn: Connection, workspace_id: int, profile_id: int) -> int:
    from siyu.profiles.read_store import resolve_profile_id

    return resolve_profile_id(conn, workspace_id, profile_id)  # ProfileNotFound: 404 / exit 2


def tasks_for_member(conn: Connection, workspace_id: int, profile_id: int, *, now: datetime) -> list[dict[str, Any]]:
    """The member centre's and the profile page's list: each task running now (active, inside its
    start and end) with the person's progress in the current period (today, this week, this month, or
    ever for a one-time task) and what completing it gives."""
    timezone = _timezone(conn, workspace_id)
    live = _live_profile(conn, workspace_id, profile_id)
    mine = {(p.task_id, p.period): p for p in tasks_store.progress_of(conn, workspace_id, live)}
    listed = []
    for task in tasks_store.list_tasks(conn, workspace_id, active_only=True):
        if not task.live_at(now):
            continue
        d = task.definition
        period = tasks_rules.period_of(d.repeat, now, timezone)
        row = mine.get((task.id, period))
        listed.append({
            "id": task.id, "key": d.key, "name_zh": d.name_zh, "name_en": d.name_en, "kind": d.kind.value,
            "repeat": d.repeat.value, "period": period, "target": row.target if row else d.target,
            "progress": row.progress if row else 0, "completed": bool(row and row.completed),
            "completed_at": row.completed_at if row else None, "points": d.points, "offer_id": d.offer_id,
            "ends_at": d.ends_at,
        })
    return listed


def progress_for(conn: Connection, workspace_id: int, task_id: int, profile_id: int) -> dict[str, Any]:
    """One task's progress rows for a person, every period, newest first, and their rewards."""
    task = get_task(conn, workspace_id, task_id)
    live = _live_profile(conn, workspace_id, profile_id)
    return {"task": task.to_dict(), "profile_id": live,
            "periods": [p.to_dict() for p in tasks_store.progress_of(conn, workspace_id, live, task_id=task_id)],
            "rewards": [r for r in tasks_store.rewards_of(conn, workspace_id, live) if r["task_id"] == task_id]}


def mark_attendance(conn: Connection, workspace_id: int, task_id: int, profile_id: int, *, key: str,
                    now: datetime) -> dict[str, Any]:
    """An operator marks that the person attended: writes the task's counted event (with the task's
    filter properties, so it counts) once per idempotency key; the worker makes the progress."""
    if not isinstance(key, str) or not 0 < len(key) <= 180:
        raise TaskInvalid("'idempotency_key' is 1-180 characters.", details={"field": "idempotency_key"})
    task = get_task(conn, workspace_id, task_id)
    if task.definition.kind is not TaskKind.ATTEND_EVENT:
        raise NotAttendance(f"Task {task.key!r} is a {task.definition.kind.value} task; attendance is marked "
                            "on attend_event tasks.", details={"task_id": task_id})
    live = _live_profile(conn, workspace_id, profile_id)
    if not tasks_store.insert_mark(conn, workspace_id, f"attend:{key}", task_id, live, now):
        if tasks_store.mark_owner(conn, workspace_id, f"attend:{key}") != (task_id, live):
            raise KeyReused("This idempotency key marked another attendance; use a new key.",
                            details={"idempotency_key": key})
        return {"recorded": False, "task_id": task_id, "profile_id": live}
    name = task.definition.counted_event()
    assert name is not None  # an attend_event task always counts an event
    from siyu.profiles.read_store import append_profile_events

    append_profile_events(conn, workspace_id, [(live, name, {**task.definition.filter, "task": task.key,
                                                             "marked_by": "operator"})], EVENT_SOURCE, now)
    return {"recorded": True, "task_id": task_id, "profile_id": live, "event": name}
