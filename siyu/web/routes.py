"""Console pages: login, home, customers list, customer page, language switch."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu import clock
from siyu.analytics.store import home_figures
from siyu.api.auth import runtime_of
from siyu.db.engine import read, write
from siyu.profiles import read_store, tag_store
from siyu.profiles.cursors import decode_cursor, encode_cursor
from siyu.profiles.errors import ProfileError, ProfileNotFound
from siyu.profiles.models import ProfileFilter
from siyu.web.i18n import SUPPORTED, choose_locale, normalise
from siyu.web.rendering import render
from siyu.workspaces import store as workspace_store
from siyu.workspaces.secrets import verify_password

router = APIRouter(include_in_schema=False)


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def _check_csrf(request: Request, token: str) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and secrets.compare_digest(expected, token)


def _locale(request: Request, user: Any = None) -> str:
    return choose_locale(user.locale if user else None, request.headers.get("accept-language"))


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _context(request: Request) -> dict[str, Any] | None:
    """The signed-in user and workspace, or None (the caller redirects to /login)."""
    session = request.session
    if not session.get("user_id") or not session.get("workspace_id"):
        return None
    with read(runtime_of(request).engine) as conn:
        user = workspace_store.get_user(conn, int(session["user_id"]))
        if user is None:
            return None
        member = {w.id: (w, role) for w, role in workspace_store.memberships(conn, user.id)}
    if int(session["workspace_id"]) not in member:
        return None
    workspace, role = member[int(session["workspace_id"])]
    return {"user": user, "workspace": workspace, "role": role, "csrf": _csrf(request),
            "locale": _locale(request, user), "workspaces": [w for w, _ in member.values()]}


def _page(request: Request, template: str, ctx: dict[str, Any], status: int = 200, **extra: Any) -> HTMLResponse:
    return render(request, template, locale=ctx["locale"], timezone=ctx["workspace"].timezone, status=status,
                  user=ctx["user"], workspace=ctx["workspace"], role=ctx["role"], csrf=ctx["csrf"],
                  workspaces=ctx["workspaces"], **extra)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str, Query(max_length=500)] = "/") -> HTMLResponse:
    return render(request, "login.html", locale=_locale(request), csrf=_csrf(request), next=_safe_next(next),
                  error=None)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, email: Annotated[str, Form(max_length=320)], password: Annotated[str, Form(max_length=500)],
          csrf: Annotated[str, Form(max_length=100)] = "", next: Annotated[str, Form(max_length=500)] = "/"
          ) -> Response:
    locale = _locale(request)
    with read(runtime_of(request).engine) as conn:
        user = workspace_store.find_user_by_email(conn, email)
        memberships = workspace_store.memberships(conn, user.id) if user else []
    if not _check_csrf(request, csrf) or user is None or not verify_password(user.password_hash, password) \
            or not memberships:
        return render(request, "login.html", locale=locale, csrf=_csrf(request), next=_safe_next(next),
                      error="Wrong e-mail or password.", status=400)
    request.session.clear()
    request.session.update({"user_id": user.id, "csrf": secrets.token_urlsafe(24)})
    if len(memberships) == 1:
        workspace, role = memberships[0]
        request.session.update({"workspace_id": workspace.id, "role": role.value})
        return RedirectResponse(_safe_next(next), status_code=303)
    return RedirectResponse("/workspaces", status_code=303)


@router.get("/workspaces", response_class=HTMLResponse)
def choose_workspace(request: Request) -> Response:
    if not request.session.get("user_id"):
        return _login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        user = workspace_store.get_user(conn, int(request.session["user_id"]))
        memberships = workspace_store.memberships(conn, user.id) if user else []
    return render(request, "workspaces.html", locale=_locale(request, user), csrf=_csrf(request),
                  memberships=memberships, user=user)


@router.post("/workspaces")
def switch_workspace(request: Request, workspace_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                     csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    if not request.session.get("user_id") or not _check_csrf(request, csrf):
        return _login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        memberships = workspace_store.memberships(conn, int(request.session["user_id"]))
    for workspace, role in memberships:
        if workspace.id == workspace_id:
            request.session.update({"workspace_id": workspace.id, "role": role.value})
            return RedirectResponse("/", status_code=303)
    return RedirectResponse("/workspaces", status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    if _check_csrf(request, csrf):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/settings/language")
def set_language(request: Request, locale: Annotated[str, Form(max_length=10)],
                 csrf: Annotated[str, Form(max_length=100)] = "",
                 back: Annotated[str, Form(max_length=500)] = "/") -> Response:
    ctx = _context(request)
    if ctx is None or not _check_csrf(request, csrf):
        return _login_redirect(request)
    chosen = normalise(locale)
    if chosen in SUPPORTED:
        with write(runtime_of(request).engine) as conn:
            workspace_store.set_user_locale(conn, ctx["user"].id, chosen)
    return RedirectResponse(_safe_next(back), status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    ctx = _context(request)
    if ctx is None:
        return _login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        figures = home_figures(conn, ctx["workspace"].id, clock.now(), ctx["workspace"].timezone)
    return _page(request, "home.html", ctx, figures=figures)


@router.get("/profiles", response_class=HTMLResponse)
def profiles_page(request: Request, q: Annotated[str, Query(max_length=320)] = "",
                  tag_text: Annotated[str, Query(alias="tag", max_length=12)] = "",
                  cursor: Annotated[str, Query(max_length=64)] = "") -> Response:
    ctx = _context(request)
    if ctx is None:
        return _login_redirect(request)
    workspace_id = ctx["workspace"].id
    tag = int(tag_text) if tag_text.isdigit() and 0 < int(tag_text) < 2**31 else None
    where = ProfileFilter(text=q.strip() or None, tag_ids=(tag,) if tag else ())
    try:
        after = decode_cursor(cursor or None)
    except ProfileError:
        after = None
    with read(runtime_of(request).engine) as conn:
        items, next_cursor = read_store.search_profiles(conn, workspace_id, where, limit=50, cursor=after)
        tags = tag_store.list_tags(conn, workspace_id)
    return _page(request, "profiles.html", ctx, items=items, tags=tags, q=q, tag=tag,
                 next_cursor=encode_cursor(next_cursor))


@router.get("/profiles/{profile_id}", response_class=HTMLResponse)
def profile_page(request: Request, profile_id: int) -> Response:
    ctx = _context(request)
    if ctx is None:
        return _login_redirect(request)
    workspace_id = ctx["workspace"].id
    try:
        with read(runtime_of(request).engine) as conn:
            if not 1 <= profile_id <= 2**62:
                raise ProfileNotFound("no such profile")
            detail = read_store.profile_detail(conn, workspace_id, profile_id)
            timeline, _ = read_store.profile_events(conn, workspace_id, detail["id"], limit=100)
    except ProfileNotFound:
        return _page(request, "not_found.html", ctx, status=404)
    return _page(request, "profile.html", ctx, profile=detail, timeline=timeline)
