"""Console pages for staff (员工与人设): members and personas, one member's customers and today's
tasks, and hand-overs (在职转接 / 离职继承) with their statuses.

The pages read through the staff capability; every change is made by the page's script through the
staff API with the console session and its CSRF token — a task closed as done or skipped with a note
(``POST /api/staff-tasks/{id}/result``, ``profiles:write``), a member marked as left
(``PATCH /api/staff/{id}``), a hand-over decided (``POST /api/customer-transfers``) and handed to
WeCom (``POST /api/customer-transfers/sync``), the last three with ``messages:send`` — so the API's
refusals (WeCom's 90-day limit, a resigned hand-over of a member still in service) are the console's.
The hand-over form picks customers by searching the member's customers by name, phone or identifier
(``/staff/transfers/customers``), not by typing profile ids.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.profiles import read_store
from siyu.profiles import store as profile_store
from siyu.profiles.models import ProfileFilter
from siyu.staff import store, tasks
from siyu.staff.errors import StaffNotFound
from siyu.staff.models import Staff, StaffKind, StaffStatus, TransferKind
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
StaffId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MANAGE_PERMISSION = Permission.MESSAGES_SEND  # the API's for accounts and hand-overs
SERVE_PERMISSION = Permission.PROFILES_WRITE  # the API's for closing tasks
CUSTOMERS_SHOWN = 100
TRANSFERS_SHOWN = 200
PICKER_SHOWN = 20  # customers offered by the hand-over form's search
PICKER_CANDIDATES = 500  # people matching the search, of whom the member's customers are offered


def may(console: Console, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[console.role]


def _names(conn: Any, workspace_id: int, profile_ids: list[int]) -> dict[int, str | None]:
    """Display names of the people a page lists, in one batched read of their traits."""
    traits = profile_store.load_traits(conn, workspace_id, profile_ids)
    return {profile_id: found[0].get("name") for profile_id, found in traits.items()}


def _userids(conn: Any, workspace_id: int, found: Staff) -> list[str]:
    if found.kind is StaffKind.PERSONA:
        return [m.userid for m in store.list_staff(conn, workspace_id, persona_id=found.id) if m.userid]
    return [found.userid] if found.userid else []


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        everyone = store.list_staff(conn, workspace_id)
        members = [s for s in everyone if s.kind is StaffKind.MEMBER]
        counts = store.owned_counts(conn, workspace_id, [m.userid for m in members if m.userid])
    personas = [s for s in everyone if s.kind is StaffKind.PERSONA]
    persona_names = {p.id: p.name for p in personas}
    served_by = {p.id: [m for m in members if m.persona_id == p.id] for p in personas}
    return _page(request, "staff.html", console, members=members, personas=personas, counts=counts,
                 persona_names=persona_names, served_by=served_by, may_manage=may(console, MANAGE_PERMISSION))


@router.get("/staff/transfers", response_class=HTMLResponse)
def transfers_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        listed = store.list_transfers(conn, workspace_id, limit=TRANSFERS_SHOWN)
        members = store.list_staff(conn, workspace_id, kind=StaffKind.MEMBER.value)
        names = _names(conn, workspace_id, [t.profile_id for t in listed])
    # A fresh key per page view: a double-clicked Save decides once, a second hand-over needs a reload.
    data = {"csrf": console.csrf, "idempotency_key": f"console-{secrets.token_urlsafe(12)}"}
    return _page(request, "staff_transfers.html", console, transfers=listed, members=members, names=names,
                 kinds=[k.value for k in TransferKind], may_manage=may(console, MANAGE_PERMISSION), data=data)


@router.get("/staff/transfers/customers")
def transfer_customers(request: Request, handover: Annotated[str, Query(min_length=1, max_length=64)],
                       q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The hand-over form's customer search: the ``handover`` member's current customers whose name,
    phone or an identifier (external user id, openid, ...) matches ``q`` — the people a hand-over from
    that member may move; an empty ``q`` lists their first customers. JSON for the page's script."""
    console = current(request)
    if console is None or not may(console, MANAGE_PERMISSION):
        return JSONResponse({"customers": []}, status_code=403)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        candidates = None
        if q.strip():
            found, _ = read_store.search_profiles(conn, workspace_id, ProfileFilter(text=q.strip()),
                                                  limit=PICKER_CANDIDATES)
            candidates = [p.id for p in found]
        spells = [] if candidates == [] else store.customers_of(conn, workspace_id, handover, limit=PICKER_SHOWN,
                                                                 profile_ids=candidates)
        traits = profile_store.load_traits(conn, workspace_id, [s.profile_id for s in spells])
    return JSONResponse({"customers": [
        {"profile_id": s.profile_id, "name": traits.get(s.profile_id, ({},))[0].get("name"),
         "phone": traits.get(s.profile_id, ({},))[0].get("phone"), "external_userid": s.external_userid}
        for s in spells]})


@router.get("/staff/{staff_id}", response_class=HTMLResponse)
def member_page(request: Request, staff_id: StaffId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id, timezone = console.workspace.id, console.workspace.timezone
    try:
        with read(runtime_of(request).engine) as conn:
            found = store.get_staff(conn, workspace_id, staff_id)
            userids = _userids(conn, workspace_id, found)
            customers = [spell for userid in userids
                         for spell in store.customers_of(conn, workspace_id, userid, limit=CUSTOMERS_SHOWN)]
            due = [dict(task, owner=userid) for userid in userids
                   for task in tasks.today(conn, workspace_id, userid, clock.now(), timezone, status=None)]
            total = sum(store.owned_counts(conn, workspace_id, userids).values())
            persona = store.get_staff(conn, workspace_id, found.persona_id) if found.persona_id else None
            members = store.list_staff(conn, workspace_id, persona_id=found.id) if found.kind is StaffKind.PERSONA \
                else []
            names = _names(conn, workspace_id, [c.profile_id for c in customers] + [t["profile_id"] for t in due])
    except StaffNotFound:
        return _page(request, "not_found.html", console, status=404)
    data = {"csrf": console.csrf}
    return _page(request, "staff_member.html", console, member=found, customers=customers, tasks=due, total=total,
                 persona=persona, members=members, names=names, data=data,
                 may_serve=may(console, SERVE_PERMISSION), may_manage=may(console, MANAGE_PERMISSION),
                 active=found.status is StaffStatus.ACTIVE)
