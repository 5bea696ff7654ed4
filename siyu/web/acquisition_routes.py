"""Console pages for channel codes (渠道活码): the list with today's figures, the create form, one
code with its QR, downloads and daily figures, and the edit form for a code's rules.

The pages read through the channel-codes capability; creating a code is done by the page's script
through ``POST /api/channel-codes`` with the console session and its CSRF token, so the API's checks
and refusals (``details.field``) are the console's and are shown beside the field they name. The QR
image and the downloads are the API's own ``qr.png`` / ``qr.svg`` / ``card.png``, which accept the
console session. Roles without ``messages:send`` see the list and the codes but not the form.
The edit form posts to its own console endpoint, which changes every rule at once (expiry
included) through :mod:`siyu.acquisition.channel_codes_edit`, the path ``siyu codes update`` takes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from siyu import clock
from siyu.acquisition import channel_codes, channel_codes_edit
from siyu.acquisition import channel_codes_store as store
from siyu.acquisition.channel_codes_store import ChannelCodeError
from siyu.acquisition.routing import Strategy
from siyu.api.auth import runtime_of
from siyu.channels.base import ChannelError
from siyu.db.engine import read
from siyu.errors import SiyuError
from siyu.journeys import store as journey_store
from siyu.staff import store as staff_store
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, csrf_ok, current, login_redirect
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


class CodeEdit(BaseModel):
    """The edit form's body: every rule at once, as the form shows them (empty = none)."""

    name: str = Field(min_length=1, max_length=100)
    caption: str = Field("", max_length=200)
    routing: dict[str, Any] | None = None
    welcome: str = Field("", max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    journey_id: int = Field(0, ge=0, le=2**31 - 1)
    expires_at: str = Field("", max_length=40, description="wecom_contact: a local date and time, or empty")
    reward: dict[str, Any] | None = None


def _refusal(error: SiyuError) -> JSONResponse:
    return JSONResponse({"error": {"code": error.code, "message": error.message, "details": error.details or {}}},
                        status_code=error.status)


def _changes(code: dict[str, Any], body: CodeEdit, timezone: str) -> dict[str, Any]:
    """What the form changes: everything it shows; expiry only for a WeCom code (an official-account
    code's is its ticket's, fixed by WeChat), as the workspace's local time."""
    changes: dict[str, Any] = {"name": body.name.strip(), "caption": body.caption.strip() or None,
                               "welcome": {"text": body.welcome} if body.welcome.strip() else None,
                               "tags": [t.strip() for t in body.tags if t.strip()] or None,
                               "journey_id": body.journey_id, "reward": body.reward}
    if code["kind"] == "wecom_contact":
        changes["routing"] = body.routing
        try:
            local = datetime.fromisoformat(body.expires_at) if body.expires_at else None
        except ValueError:
            raise ChannelCodeError("'expires_at' is a date and time.", details={"field": "expires_at"}) from None
        changes["expires_at"] = (None if local is None else local.replace(tzinfo=ZoneInfo(timezone))
                                 if local.tzinfo is None else local)
    return changes


@router.get("/codes/{code_id}/edit", response_class=HTMLResponse)
def edit_code_page(request: Request, code_id: CodeId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    if not may_create(console):
        return _page(request, "channel_code_edit.html", console, status=403, may_create=False, code=None, data=None)
    try:
        with read(runtime_of(request).engine) as conn:
            code = store.get_code(conn, console.workspace.id, code_id)
            journeys = journey_store.list_journeys(conn, console.workspace.id)
            members = staff_store.list_staff(conn, console.workspace.id, status="active")
    except ChannelCodeError as error:
        if error.status != 404:
            raise
        return _page(request, "not_found.html", console, status=404)
    expires = (code["expires_at"].astimezone(ZoneInfo(console.workspace.timezone)).strftime("%Y-%m-%dT%H:%M")
               if code["expires_at"] else "")
    return _page(request, "channel_code_edit.html", console, may_create=True, code=code, journeys=journeys,
                 members=members, strategies=[s.value for s in Strategy], expires=expires,
                 data={"csrf": console.csrf})


@router.post("/codes/{code_id}/edit")
async def edit_code(request: Request, code_id: CodeId) -> Response:
    """The edit form's JSON endpoint (the page's script sends it with the session's CSRF token):
    the same checks and pushes as ``siyu codes update``, refusals in the API's error shape."""
    console = current(request)
    if console is None or not csrf_ok(request, request.headers.get("x-csrf-token", "")):
        return _refusal(ChannelCodeError("Sign in again: this form has expired.", code="auth.csrf", status=403))
    if not may_create(console):
        return _refusal(ChannelCodeError("Your role may not change channel codes (messages:send).",
                                         code="auth.forbidden", status=403))
    try:
        body = CodeEdit.model_validate(await request.json())
    except ValueError as error:
        problems = error.errors() if isinstance(error, ValidationError) else []
        field = ".".join(str(p) for p in problems[0]["loc"]) if problems else ""
        return _refusal(ChannelCodeError(problems[0]["msg"] if problems else "The body is not JSON.",
                                         details={"field": field}))
    engine, now = runtime_of(request).engine, clock.now()
    try:
        with read(engine) as conn:
            code = store.get_code(conn, console.workspace.id, code_id)
            workspace = workspace_store.get_workspace(conn, console.workspace.id)
        found = channel_codes_edit.edit(engine, workspace, code_id, _changes(code, body, workspace.timezone), now)
    except SiyuError as error:
        return _refusal(error)
    except ChannelError as error:  # WeCom refused the new routing: the change is saved, the push is retried
        return _refusal(ChannelCodeError(f"Saved, but WeCom refused the routing ({error.code}): {error.detail}",
                                         code="channel_codes.platform_error", status=409))
    return JSONResponse({"id": found["id"]})
