"""Console page for the anti-fraud review queue (风控审核): what is waiting, why, and approve / reject.

The page reads through :mod:`siyu.growth.fraud_store`; approving and rejecting are done by the
page's script through ``POST /api/growth/reviews/{id}/approve|reject`` with the console session and
its CSRF token, so the console and the API resolve a review the same way (one conditional update,
the effects once). Roles without ``messages:send`` (the API's permission for resolving) see the
queue but not the buttons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.growth import fraud_store
from siyu.growth.fraud_store import ReviewStatus
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import current, login_redirect
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
REVIEW_PERMISSION = Permission.MESSAGES_SEND
TABS = ("pending", "approved", "rejected", "all")
PAGE_SIZE = 100


@router.get("/growth/reviews", response_class=HTMLResponse)
def reviews_page(request: Request, status: Annotated[str, Query(max_length=16)] = "pending",
                 before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                 campaign: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    tab = status if status in TABS else "pending"  # an unknown tab from a hand-typed URL: the default one
    wanted = None if tab == "all" else ReviewStatus(tab)
    with read(runtime_of(request).engine) as conn:
        decisions = fraud_store.review_queue(conn, console.workspace.id, status=wanted, before_id=before,
                                             campaign_id=campaign, limit=PAGE_SIZE)
        pending = fraud_store.count_pending(conn, console.workspace.id)
        reviewers = _reviewer_names(conn, console.workspace.id, {d.reviewed_by for d in decisions if d.reviewed_by})
    may_review = REVIEW_PERMISSION in ROLE_PERMISSIONS[console.role]
    older = decisions[-1].id if len(decisions) == PAGE_SIZE else None
    first_seen = {d.id: datetime.fromisoformat(d.facts["invitee_first_seen_at"]) for d in decisions
                  if d.facts and d.facts.get("invitee_first_seen_at")}
    return _page(request, "reviews.html", console, decisions=decisions, tab=tab, tabs=TABS, pending=pending,
                 may_review=may_review, older=older, campaign=campaign, first_seen=first_seen,
                 reviewers=reviewers, data={"csrf": console.csrf})


def _reviewer_names(conn: Connection, workspace_id: int, actors: set[str]) -> dict[str, str]:
    """``user:3`` → the console user's name, for users who are members of this workspace (an API key
    or a CLI operator name is shown as it was recorded)."""
    names = {}
    for actor in actors:
        kind, _, number = actor.partition(":")
        if kind != "user" or not number.isdigit():
            continue
        user = workspace_store.get_user(conn, int(number))
        if user is not None and any(w.id == workspace_id for w, _ in workspace_store.memberships(conn, user.id)):
            names[actor] = f"{user.display_name} ({user.email})"
    return names
