"""The staff side of tasks (SOP): today's list per member, closing a task with a note, and SOP
rules that create tasks for the owners of people in a segment.

A task (journeys' ``staff_tasks``) is about a person; it is the current owner's — the member whose
ownership spell with the person is open — so a hand-over moves open tasks with the customer.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from siyu.journeys import task_store
from siyu.staff import store
from siyu.staff.errors import StaffConflict, StaffError, StaffNotFound
from siyu.staff.models import SopSchedule

CLOSED = ("done", "skipped")


def end_of_day(now: datetime, timezone: str) -> datetime:
    """The end of ``now``'s calendar day in the workspace time zone (tasks due today are due before it)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)


def local_day(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def today(conn: Connection, workspace_id: int, userid: str, now: datetime, timezone: str, *,
          status: str | None = "open") -> list[dict[str, Any]]:
    """``userid``'s tasks due today or earlier (and undated ones), oldest due first."""
    if store.staff_by_userid(conn, workspace_id, userid) is None:
        raise StaffNotFound(f"No member with userid {userid!r}.", details={"userid": userid})
    return store.tasks_of_owner(conn, workspace_id, userid, due_before=end_of_day(now, timezone), status=status)


def finish(conn: Connection, workspace_id: int, task_id: int, *, status: str, note: str | None,
           userid: str | None, now: datetime) -> dict[str, Any]:
    """Mark a task done or skipped. The same outcome again is a no-op; changing a closed task's
    outcome is refused (``staff.task_closed``)."""
    if status not in CLOSED:
        raise StaffError("A task is closed as 'done' or 'skipped'.", details={"field": "status"})
    task = store.get_task(conn, workspace_id, task_id)
    if task is None:
        raise StaffNotFound(f"No task {task_id} in this workspace.", code="staff.task_not_found",
                            details={"task_id": task_id})
    if task["status"] == status:
        return task
    if task["status"] != "open":
        raise StaffConflict(f"Task {task_id} is {task['status']} already.", code="staff.task_closed",
                            details={"status": task["status"]})
    store.finish_task(conn, workspace_id, task_id, status=status, note=note, userid=userid, now=now)
    return store.get_task(conn, workspace_id, task_id) or task


def run_sop_rule(conn: Connection, workspace_id: int, rule: dict[str, Any], now: datetime,
                 timezone: str) -> dict[str, int]:
    """One round of a rule: a task for each newcomer to the segment who has an owner. ``once`` runs
    a single time over everyone in the segment; ``daily`` takes those who entered since its last run,
    at most once per local day. Task keys make a repeated round create nothing twice."""
    schedule = SopSchedule(rule["schedule"])
    last = rule["last_run_at"]
    if rule["status"] != "active":
        return {"created": 0, "unowned": 0}
    if schedule is SopSchedule.ONCE and last is not None:
        return {"created": 0, "unowned": 0}
    day = local_day(now, timezone)
    if schedule is SopSchedule.DAILY and last is not None and local_day(last, timezone) == day:
        return {"created": 0, "unowned": 0}
    created = unowned = 0
    for profile_id in store.segment_entrants(conn, workspace_id, rule["segment_id"], last):
        if store.current_owner(conn, workspace_id, profile_id) is None:
            unowned += 1
            continue
        suffix = f":{day}" if schedule is SopSchedule.DAILY else ""
        task_store.create_task(conn, workspace_id, profile_id=profile_id, title=rule["title"], note=rule["note"],
                               due_at=now + timedelta(hours=rule["due_hours"]), source=f"sop:{rule['id']}",
                               source_key=f"sop:{rule['id']}:{profile_id}{suffix}", now=now)
        created += 1
    store.mark_sop_run(conn, workspace_id, rule["id"], now)
    return {"created": created, "unowned": unowned}


def run_sop_rules(conn: Connection, workspace_id: int, now: datetime, timezone: str) -> dict[int, dict[str, int]]:
    return {rule["id"]: run_sop_rule(conn, workspace_id, rule, now, timezone)
            for rule in store.list_sop_rules(conn, workspace_id, status="active")}
