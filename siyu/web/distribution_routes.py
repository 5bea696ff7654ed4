"""Console pages for distribution (分销): promoters with their links, touches, orders and commission
by status; one promoter's page; the commission plan editor; the ledger with its exports and payouts.

The pages read through the distribution capability; every change is made by the page's script
through the API with the console session and its CSRF token (``POST /api/promoters``, ``PATCH
/api/promoters/{id}``, ``PUT /api/commissions/plan`` with ``messages:send``; ``POST
/api/commissions/payouts`` with ``workspace:admin``), so the API's refusals — a third level with its
legal reason first among them — are the console's.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.growth import distribution_store as store
from siyu.growth import distribution_summary as summary
from siyu.growth.distribution_errors import PromoterNotFound
from siyu.growth.distribution_ledger import plan_of
from siyu.growth.distribution_models import CommissionStatus
from siyu.staff import store as staff_store
from siyu.staff.models import StaffKind
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
PromoterId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ROWS_SHOWN = 200


def _may(console: Console, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[console.role]


def _data(console: Console) -> dict[str, Any]:
    # A fresh payout key per page view: a double-clicked Pay pays once; another payout needs a reload.
    return {"csrf": console.csrf, "payout_key": f"console-{secrets.token_urlsafe(12)}"}


@router.get("/distribution", response_class=HTMLResponse)
def promoters_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    rt, workspace_id = runtime_of(request), console.workspace.id
    with read(rt.engine) as conn:
        found = summary.summaries(conn, workspace_id, store.list_promoters(conn, workspace_id), rt.config.public_url)
        members = staff_store.list_staff(conn, workspace_id, kind=StaffKind.MEMBER.value, status="active")
    names = {p["id"]: p["name"] for p in found}
    tops = [p for p in found if p["parent_id"] is None]
    return _page(request, "distribution.html", console, promoters=found, names=names, members=members, tops=tops,
                 may_manage=_may(console, Permission.MESSAGES_SEND), data=_data(console))


@router.get("/distribution/promoters/{promoter_id}", response_class=HTMLResponse)
def promoter_page(request: Request, promoter_id: PromoterId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    rt, workspace_id = runtime_of(request), console.workspace.id
    try:
        with read(rt.engine) as conn:
            found = summary.summary(conn, workspace_id, promoter_id, rt.config.public_url)
            others = [p for p in store.list_promoters(conn, workspace_id)
                      if p.parent_id is None and p.id != promoter_id]
            touches = store.recent_touches(conn, workspace_id, promoter_id, limit=50)
            entries = store.list_commissions(conn, workspace_id, promoter_id=promoter_id, limit=ROWS_SHOWN)
            parent = store.get_promoter(conn, workspace_id, found["parent_id"]) if found["parent_id"] else None
    except PromoterNotFound:
        return _page(request, "not_found.html", console, status=404)
    return _page(request, "distribution_promoter.html", console, promoter=found, others=others, touches=touches,
                 entries=entries, parent=parent, may_manage=_may(console, Permission.MESSAGES_SEND),
                 data=_data(console))


@router.get("/distribution/rules", response_class=HTMLResponse)
def rules_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        plan = plan_of(conn, console.workspace.id)
        version = store.get_plan(conn, console.workspace.id)[1]
    return _page(request, "distribution_rules.html", console, plan=plan, version=version,
                 may_manage=_may(console, Permission.MESSAGES_SEND), data=_data(console))


@router.get("/distribution/ledger", response_class=HTMLResponse)
def ledger_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    chosen, status = request.query_params.get("promoter_id", ""), request.query_params.get("status") or None
    status = status if status in set(CommissionStatus) else None  # an empty or unknown filter means all
    promoter_filter = int(chosen) if chosen.isdigit() and 0 < int(chosen) < 2**31 else None
    with read(runtime_of(request).engine) as conn:
        entries = store.list_commissions(conn, workspace_id, promoter_id=promoter_filter, status=status,
                                         limit=ROWS_SHOWN)
        everyone = store.list_promoters(conn, workspace_id)
        sums = store.balances(conn, workspace_id)
        payouts = store.list_payouts(conn, workspace_id, limit=20)
    totals = {s: sum(v.get(s, 0) for v in sums.values()) for s in ("pending", "confirmed", "paid", "reversed")}
    return _page(request, "distribution_ledger.html", console, entries=entries, promoters=everyone,
                 names={p.id: p.name for p in everyone}, chosen=promoter_filter, status_filter=status, totals=totals,
                 payouts=payouts, may_export=_may(console, Permission.EXPORT),
                 may_pay=_may(console, Permission.WORKSPACE_ADMIN), data=_data(console))
