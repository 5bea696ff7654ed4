"""Console pages for group live codes (群活码) and community groups (社群): the codes with the group
each shows now, one code with its groups' QR, state, fill and views per day; the groups with their
tags and members, one group with who invited whom and joins per day.

The pages read through the group-codes and groups capabilities; creating a code and adding a group's
QR image are done by the page's script through ``/api/group-codes`` with the console session and its
CSRF token (the image as multipart, checked and decoded by the API). Roles without
``segments:manage`` (the API's permission for acquisition set-up) see the codes without the forms.
The groups list and a group's page carry forms for group tags (``/api/groups/tags``, ``tags:manage``)
and broadcasts to groups (``/api/groups/broadcasts``, ``messages:send``), made the same way.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from siyu import clock
from siyu.acquisition import group_codes_live, group_codes_store
from siyu.acquisition.group_codes import Strategy
from siyu.acquisition.group_codes_api import describe
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.groups import broadcast_store, tag_store
from siyu.groups import store as group_store
from siyu.groups.figures import day_range, join_figures
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
CodeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
GroupId = Annotated[int, Path(ge=1, le=2**62)]
SETUP_PERMISSION = Permission.SEGMENTS_MANAGE  # the group-codes API's for every change
TAG_PERMISSION = Permission.TAGS_MANAGE  # the groups API's for group tags
SEND_PERMISSION = Permission.MESSAGES_SEND  # the groups API's for broadcasts
BROADCASTS_SHOWN = 20
CHART_DAYS = 30
GROUPS_SHOWN = 500


def may_set_up(console: Console) -> bool:
    return SETUP_PERMISSION in ROLE_PERMISSIONS[console.role]


def _actions(console: Console, group_id: int | None) -> dict[str, Any]:
    """What the tag and broadcast forms need: who may use them, and the page's data for their script
    (a fresh idempotency key per page view: a double-clicked Create makes one broadcast)."""
    return {"may_tag": TAG_PERMISSION in ROLE_PERMISSIONS[console.role],
            "may_send": SEND_PERMISSION in ROLE_PERMISSIONS[console.role], "single": group_id is not None,
            "group_data": {"csrf": console.csrf, "group_id": group_id,
                           "idempotency_key": f"console-{secrets.token_urlsafe(12)}"}}


def views_per_day(rows: list[dict[str, Any]], days: list[str]) -> dict[str, list[int]]:
    """Page views per day, split into those that showed a group and those that found none left."""
    shown = {day: 0 for day in days}
    none_left = {day: 0 for day in days}
    for row in rows:
        if row["day"] in shown:
            (shown if row["entry_id"] else none_left)[row["day"]] += row["shown"]
    return {"shown": list(shown.values()), "none_left": list(none_left.values())}


@router.get("/group-codes", response_class=HTMLResponse)
def group_codes_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    group_codes_live.views(runtime_of(request)).flush()  # this process's page views, counted in memory until now
    with read(runtime_of(request).engine) as conn:
        codes = [describe(conn, request, code) for code in group_codes_store.list_codes(conn, console.workspace.id)]
    return _page(request, "group_codes.html", console, codes=codes, strategies=[s.value for s in Strategy],
                 may_set_up=may_set_up(console), data={"csrf": console.csrf})


@router.get("/group-codes/{code_id}", response_class=HTMLResponse)
def group_code_page(request: Request, code_id: CodeId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    days = [d.isoformat() for d in day_range(clock.now().astimezone(ZoneInfo(console.workspace.timezone)).date(),
                                             CHART_DAYS)]
    group_codes_live.views(runtime_of(request)).flush()
    with read(runtime_of(request).engine) as conn:
        code = group_codes_store.get_code(conn, workspace_id, code_id)
        if code is None:
            return _page(request, "not_found.html", console, status=404)
        described = describe(conn, request, code)
        views = views_per_day(group_codes_store.shown_per_day(conn, workspace_id, code_id, days[0]), days)
        alerts = group_codes_store.alerts_of(conn, workspace_id, code_id, limit=20)
        linkable = group_store.list_groups(conn, workspace_id, status="active", limit=GROUPS_SHOWN)
    chart = {"labels": [d[5:] for d in days], "series": views}
    return _page(request, "group_code.html", console, code=described, alerts=alerts, chart=chart,
                 linkable=linkable, may_set_up=may_set_up(console), data={"csrf": console.csrf})


@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request, q: Annotated[str, Query(max_length=100)] = "",
                tag_text: Annotated[str, Query(alias="tag", max_length=12)] = "") -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    tag = int(tag_text) if tag_text.isdigit() and 0 < int(tag_text) < 2**31 else None
    with read(runtime_of(request).engine) as conn:
        found = group_store.list_groups(conn, console.workspace.id, name_contains=q.strip() or None,
                                        tag_ids=[tag] if tag else None, limit=GROUPS_SHOWN)
        tags = tag_store.list_tags(conn, console.workspace.id)
        broadcasts = broadcast_store.list_broadcasts(conn, console.workspace.id, BROADCASTS_SHOWN)
    return _page(request, "groups.html", console, groups=found, tags=tags, q=q, tag=tag, broadcasts=broadcasts,
                 **_actions(console, None))


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(request: Request, group_id: GroupId,
               past: Annotated[bool, Query(description="Show members who left too")] = False) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        group = group_store.get_group(conn, workspace_id, group_id)
        if group is None:
            return _page(request, "not_found.html", console, status=404)
        members = group_store.members_of(conn, workspace_id, group_id, include_past=past)
        joins = join_figures(conn, workspace_id, [group_id], ZoneInfo(console.workspace.timezone), CHART_DAYS,
                             clock.now())
        tags = tag_store.list_tags(conn, workspace_id)
    inviters = sorted(((m["name"] or m["userid"], m["invites"]) for m in members if m["invites"]),
                      key=lambda pair: -pair[1])
    chart = {"labels": [d["day"][5:] for d in joins], "series": {"joins": [d["joins"] for d in joins]}}
    return _page(request, "group.html", console, group=group, members=members, inviters=inviters, chart=chart,
                 past=past, recent=_recent(members, clock.now()), tags=tags, **_actions(console, group_id))


def _recent(members: list[dict[str, Any]], now: datetime) -> int:
    """Members who joined in the last 7 days."""
    return sum(1 for m in members if m["joined_at"] and m["joined_at"] >= now - timedelta(days=7))
