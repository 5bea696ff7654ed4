"""Console pages for channel codes (渠道活码): the list with today's figures, the create form and one
code with its QR, downloads and daily figures.

The pages read through the channel-codes capability; creating a code is done by the page's script
through ``POST /api/channel-codes`` with the console session and its CSRF token, so the API's checks
and refusals (``details.field``) are the console's and are shown beside the field they name. The QR
image and the downloads are the API's own ``qr.png`` / ``qr.svg`` / ``card.png``, which accept the
console session. Roles without ``messages:send`` see the list and the codes but not the form.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu import clock
from siyu.acquisition import channel_codes
from siyu.acquisition import channel_codes_store as store
from siyu.acquisition.channel_codes_store import ChannelCodeError
from siyu.acquisition.routing import Strategy
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.journeys import store as journey_store
from siyu.staff import store as staff_store
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
CodeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CREATE_PERMISSION = Permission.MESSAGES_SEND  # the API's for creating and changing codes
CHART_DAYS = 30
FIGURES = ("scans", "follows", "adds", "new", "returning")


def may_create(console: Console) -> bool:
    return CREATE_PERMISSION in ROLE_PERMISSIONS[console.role]


def _zero(day: str) -> dict[str, Any]:
    return {"day": day, **dict.fromkeys(FIGURES, 0)}


def daily_series(rows: list[dict[str, Any]], since: date, days: int) -> list[dict[str, Any]]:
    """Every day of the window, the days without arrivals as zeros (the store returns only days with some)."""
    found = {row["day"]: row for row in rows}
    return [found.get(day, _zero(day)) for day in ((since + timedelta(days=n)).isoformat() for n in range(days))]


@router.get("/codes", response_class=HTMLResponse)
def codes_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id, now = console.workspace.id, clock.now()
    today = channel_codes.local_day(now, console.workspace.timezone)
    with read(runtime_of(request).engine) as conn:
        listed = [(channel_codes.describe(code, now),
                   (store.daily_figures(conn, workspace_id, code["id"], today, today) or [_zero(today)])[0])
                  for code in store.list_codes(conn, workspace_id)]
    return _page(request, "channel_codes.html", console, codes=listed, may_create=may_create(console))


@router.get("/codes/new", response_class=HTMLResponse)
def new_code_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    if not may_create(console):
        return _page(request, "channel_code_new.html", console, status=403, may_create=False, data=None)
    with read(runtime_of(request).engine) as conn:
        journeys = journey_store.list_journeys(conn, console.workspace.id)
        members = staff_store.list_staff(conn, console.workspace.id, status="active")
    data = {"csrf": console.csrf}
    return _page(request, "channel_code_new.html", console, may_create=True, data=data, journeys=journeys,
                 members=members, strategies=[s.value for s in Strategy])


@router.get("/codes/{code_id}", response_class=HTMLResponse)
def code_page(request: Request, code_id: CodeId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id, now = console.workspace.id, clock.now()
    timezone = console.workspace.timezone
    since = date.fromisoformat(channel_codes.local_day(now - timedelta(days=CHART_DAYS - 1), timezone))
    try:
        with read(runtime_of(request).engine) as conn:
            code = channel_codes.describe(store.get_code(conn, workspace_id, code_id), now)
            rows = store.daily_figures(conn, workspace_id, code_id, since.isoformat(),
                                       channel_codes.local_day(now, timezone))
            journey = journey_store.get_journey(conn, workspace_id, code["journey_id"]) if code["journey_id"] else None
            routed = None
            if code["kind"] == "wecom_contact" and code["routing"]:
                workspace = workspace_store.get_workspace(conn, workspace_id)
                routed = channel_codes.decide(conn, workspace, code, now)
    except ChannelCodeError as error:
        if error.status != 404:
            raise
        return _page(request, "not_found.html", console, status=404)
    days = daily_series(rows, since, CHART_DAYS)
    totals = {name: sum(d[name] for d in days) for name in FIGURES}
    chart = {"days": [d["day"] for d in days], "series": {name: [d[name] for d in days] for name in FIGURES}}
    return _page(request, "channel_code.html", console, code=code, journey=journey, routed=routed, totals=totals,
                 chart=chart, chart_days=CHART_DAYS, may_create=may_create(console))
