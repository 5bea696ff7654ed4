"""``/api/loyalty/tasks``: growth tasks (成长任务) — define, list, change, deactivate; a person's
progress; an operator's attendance mark; the worker's step on demand. Thin: parse, call
:mod:`siyu.loyalty.tasks_service`, render. Permissions as the rest of ``/api/loyalty``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.loyalty import tasks_service, tasks_worker
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/loyalty/tasks", tags=["loyalty"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]
Actor = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
ProfileQuery = Annotated[int, Query(ge=1, le=2**63 - 1)]


class AttendanceIn(BaseModel):
    profile_id: int = Field(ge=1, le=2**63 - 1)
    idempotency_key: str = Field(min_length=1, max_length=180)


@router.get("", summary="Every task, with the people making progress and the completions")
def list_tasks(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return tasks_service.list_tasks(conn, caller.workspace_id)


@router.post("", status_code=201, summary="Create a task (key, names, kind, target, repeat, rewards)")
def create_task(request: Request, caller: Manager, body: Annotated[Any, Body()]) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return tasks_service.create_task(conn, caller.workspace_id, body, now=clock.now()).to_dict()


@router.get("/member/{profile_id}", summary="The tasks running now with a person's progress (member centre)")
def member_tasks(request: Request, caller: Reader, profile_id: Id) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return tasks_service.tasks_for_member(conn, caller.workspace_id, profile_id, now=clock.now())


@router.post("/run", summary="Follow the log, count credited invites and deliver rewards now")
def run_now(request: Request, caller: Manager) -> dict[str, int]:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        timezone = workspace_store.get_workspace(conn, caller.workspace_id).timezone
    return tasks_worker.run_workspace(engine, caller.workspace_id, timezone, clock.now())


@router.get("/{task_id}", summary="One task")
def get_task(request: Request, caller: Reader, task_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return tasks_service.get_task(conn, caller.workspace_id, task_id).to_dict()


@router.patch("/{task_id}", summary="Change a task (not its key or kind)")
def update_task(request: Request, caller: Manager, task_id: Id, body: Annotated[Any, Body()]) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return tasks_service.update_task(conn, caller.workspace_id, task_id, body, now=clock.now()).to_dict()


@router.post("/{task_id}/deactivate", summary="Stop a task: no more progress or rewards; completions stay")
def deactivate_task(request: Request, caller: Manager, task_id: Id) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return tasks_service.deactivate_task(conn, caller.workspace_id, task_id, now=clock.now()).to_dict()


@router.get("/{task_id}/progress", summary="A person's progress on the task, every period, and rewards")
def progress(request: Request, caller: Reader, task_id: Id, profile_id: ProfileQuery) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return tasks_service.progress_for(conn, caller.workspace_id, task_id, profile_id)


@router.post("/{task_id}/attendance", status_code=201,
             summary="Mark that a person attended (writes the counted event once per idempotency key)")
def attendance(request: Request, caller: Actor, task_id: Id, body: AttendanceIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return tasks_service.mark_attendance(conn, caller.workspace_id, task_id, body.profile_id,
                                             key=body.idempotency_key, now=clock.now())
