"""Console pages: home, the customer list and the customer page (with the person's member summary
from loyalty, when the workspace has a programme). Sign-in lives in ``session.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from siyu import clock
from siyu.analytics.store import home_figures
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.loyalty.service import member_summary
from siyu.messaging import receipt_store
from siyu.messaging import store as message_store
from siyu.profiles import read_store, tag_store
from siyu.profiles.cursors import decode_cursor, encode_cursor
from siyu.profiles.errors import ProfileError, ProfileNotFound
from siyu.profiles.models import ProfileFilter
from siyu.web.errors import ConsoleRoute
from siyu.web.rendering import render
from siyu.web.session import Console, current, login_redirect

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

PAGE_SIZE = 50
TIMELINE_SIZE = 100
MESSAGE_LOG_SIZE = 50  # the latest messages on the profile page
MAX_ID = 2**62


def _page(request: Request, template: str, console: Console, status: int = 200, **extra: Any) -> HTMLResponse:
    return render(request, template, locale=console.locale, timezone=console.workspace.timezone, status=status,
                  user=console.user, workspace=console.workspace, role=console.role, csrf=console.csrf,
                  workspaces=console.workspaces, **extra)


def _tag_id(text: str) -> int | None:
    """The tag filter's value; anything that is not a plausible id means "all tags", not an error,
    because it comes from a select box whose empty option is ``tag=``."""
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        figures = home_figures(conn, console.workspace.id, clock.now(), console.workspace.timezone)
    return _page(request, "home.html", console, figures=figures)


@router.get("/profiles", response_class=HTMLResponse)
def profiles_page(request: Request, q: Annotated[str, Query(max_length=320)] = "",
                  tag_text: Annotated[str, Query(alias="tag", max_length=12)] = "",
                  cursor: Annotated[str, Query(max_length=64)] = "") -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    tag = _tag_id(tag_text)
    where = ProfileFilter(text=q.strip() or None, tag_ids=(tag,) if tag else ())
    try:
        after = decode_cursor(cursor or None)
    except ProfileError:
        after = None  # a stale or hand-edited cursor starts again from the first page
    with read(runtime_of(request).engine) as conn:
        items, next_cursor = read_store.search_profiles(conn, workspace_id, where, limit=PAGE_SIZE, cursor=after)
        tags = tag_store.list_tags(conn, workspace_id)
    return _page(request, "profiles.html", console, items=items, tags=tags, q=q, tag=tag,
                 next_cursor=encode_cursor(next_cursor), first_page=after is None)


@router.get("/profiles/{profile_id}", response_class=HTMLResponse)
def profile_page(request: Request, profile_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    try:
        with read(runtime_of(request).engine) as conn:
            detail = read_store.profile_detail(conn, workspace_id, profile_id)
            timeline, more = read_store.profile_events(conn, workspace_id, detail["id"], limit=TIMELINE_SIZE)
            sent = message_store.of_profile(conn, workspace_id, detail["id"], limit=MESSAGE_LOG_SIZE)
            receipts = receipt_store.receipts_of(conn, workspace_id, [m.id for m in sent])
            loyalty = member_summary(conn, workspace_id, detail["id"])
    except ProfileNotFound:
        return _page(request, "not_found.html", console, status=404)
    return _page(request, "profile.html", console, profile=detail, timeline=timeline, more_events=more is not None,
                 messages=sent, receipts=receipts, loyalty=loyalty)
