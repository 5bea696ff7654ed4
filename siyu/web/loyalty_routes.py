"""Console pages for loyalty: the tiers editor (ladder, benefits, growth weights, periods), the points
rules (earning, caps, expiry, reminders, the catalogue) and a member's tier and points history,
linked from the customer page.

The editors PUT the whole programme to ``/api/loyalty/programme`` (the page's JSON holds the current
one; each page edits its part); a refusal (``loyalty.invalid`` with ``details.field``) is shown above
the form. Roles without ``segments:manage`` see the programme but not the Save button.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.loyalty import service, store
from siyu.loyalty.errors import ProgrammeMissing
from siyu.loyalty.models import Programme
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
ProfileId = Annotated[int, Path(ge=1, le=2**63 - 1)]
STARTER = {"tiers": [{"name": "普卡", "threshold": 0}, {"name": "银卡", "threshold": 1000, "points_multiplier": 120},
                     {"name": "金卡", "threshold": 5000, "points_multiplier": 150, "priority_service": True}]}


def may_manage(console: Console) -> bool:
    return Permission.SEGMENTS_MANAGE in ROLE_PERMISSIONS[console.role]


def _programme(conn: Any, workspace_id: int) -> tuple[dict[str, Any], bool, list[int]]:
    """(the programme as JSON, whether it is saved, members per tier); a starter ladder when none is."""
    try:
        programme, _, _ = store.get_programme(conn, workspace_id)
    except ProgrammeMissing:
        return Programme.model_validate(STARTER).model_dump(), False, [0, 0, 0]
    counts = store.tier_counts(conn, workspace_id)
    return programme.model_dump(), True, [counts.get(rank, 0) for rank in range(len(programme.tiers))]


def _editor(request: Request, template: str) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        programme, saved, counts = _programme(conn, console.workspace.id)
    return _page(request, template, console, programme=programme, saved=saved, counts=counts,
                 may_manage=may_manage(console), data={"csrf": console.csrf, "programme": programme})


@router.get("/loyalty", response_class=HTMLResponse)
def tiers_page(request: Request) -> Response:
    return _editor(request, "loyalty.html")


@router.get("/loyalty/points", response_class=HTMLResponse)
def points_page(request: Request) -> Response:
    return _editor(request, "loyalty_points.html")


@router.get("/loyalty/members/{profile_id}", response_class=HTMLResponse)
def member_page(request: Request, profile_id: ProfileId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        try:
            view = service.member_view(conn, console.workspace.id, profile_id)
            programme, _, _ = store.get_programme(conn, console.workspace.id)
        except ProgrammeMissing:
            view, programme = None, None
    names = [t.name for t in programme.tiers] if programme else []
    with read(runtime_of(request).engine) as conn:
        tasks = member_tasks(conn, console.workspace.id, profile_id)
    return _page(request, "loyalty_member.html", console, profile_id=profile_id, view=view, tier_names=names,
                 tasks=tasks)


# Growth tasks (成长任务): the list with completions and a create form, one task's edit form with its
# recent progress, and (above) a member's tasks on their tier-and-points page. The forms send JSON to
# /api/loyalty/tasks (siyu.loyalty.tasks_api).


def member_tasks(conn: Any, workspace_id: int, profile_id: int) -> list[dict[str, Any]]:
    from siyu import clock
    from siyu.loyalty.tasks_service import tasks_for_member
    from siyu.profiles.errors import ProfileNotFound

    try:
        return tasks_for_member(conn, workspace_id, profile_id, now=clock.now())
    except ProfileNotFound:
        return []


@router.get("/loyalty/tasks", response_class=HTMLResponse)
def tasks_page(request: Request) -> Response:
    from siyu.loyalty import tasks_service

    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        tasks = tasks_service.list_tasks(conn, console.workspace.id)
    return _page(request, "loyalty_tasks.html", console, tasks=tasks, may_manage=may_manage(console))


@router.get("/loyalty/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: ProfileId) -> Response:
    from siyu.loyalty import tasks_service, tasks_store

    console = current(request)
    if console is None:
        return login_redirect(request)
    from siyu.loyalty.tasks_errors import TaskNotFound
    from siyu.web.errors import error_page

    with read(runtime_of(request).engine) as conn:
        try:
            task = tasks_service.get_task(conn, console.workspace.id, task_id)
        except TaskNotFound:
            return error_page(request, 404)  # also another workspace's task
        progress = tasks_store.progress_of_task(conn, console.workspace.id, task_id, limit=100)
    return _page(request, "loyalty_tasks_edit.html", console, task=task.to_dict(), progress=progress,
                 may_manage=may_manage(console))
