"""Console sessions: sign in and out, choosing a workspace, the language setting, CSRF tokens.

The session is Starlette's signed cookie (``SessionMiddleware``, key from ``Runtime.session_secret``).
It holds only ids — ``user_id``, ``workspace_id``, ``role``, ``csrf`` and the chosen ``locale`` —
and every request re-reads the user and their memberships, so a removed member or a changed role
takes effect on the next page, not when the cookie expires.

Every POST form carries the session's CSRF token; a POST without it changes nothing. The token is
replaced at sign-in, so a token planted before sign-in (session fixation) is worthless after it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu.api.auth import runtime_of
from siyu.db.engine import read, write
from siyu.web.errors import ConsoleRoute
from siyu.web.i18n import SUPPORTED, choose_locale, normalise
from siyu.web.rendering import render
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role, User, Workspace
from siyu.workspaces.secrets import hash_password, verify_password

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)

# Checked when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong password and
# the response time does not tell which addresses have accounts.
_DECOY_HASH = hash_password(secrets.token_urlsafe(16))

Token = Annotated[str, Form(max_length=100)]


@dataclass(frozen=True)
class Console:
    """The signed-in user in their chosen workspace: what every console page is rendered for."""

    user: User
    workspace: Workspace
    role: Role
    csrf: str
    locale: str
    workspaces: list[Workspace]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, token: str) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and secrets.compare_digest(str(expected), token)


def request_locale(request: Request, user: User | None = None) -> str:
    """The user's saved language, else the one chosen in this session, else Accept-Language, else zh-CN."""
    saved = user.locale if user else None
    session = request.scope.get("session") or {}
    return choose_locale(saved or session.get("locale"), request.headers.get("accept-language"))


def safe_next(target: str) -> str:
    """Only same-site paths: ``next=//evil.example`` or ``next=https://…`` would be an open redirect."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def current(request: Request) -> Console | None:
    """The signed-in user and workspace, or None (the caller redirects to /login)."""
    session = request.session
    user_id, workspace_id = session.get("user_id"), session.get("workspace_id")
    if not isinstance(user_id, int) or not isinstance(workspace_id, int):
        return None
    with read(runtime_of(request).engine) as conn:
        user = workspace_store.get_user(conn, user_id)
        memberships = workspace_store.memberships(conn, user_id) if user else []
    chosen = [(w, role) for w, role in memberships if w.id == workspace_id]
    if user is None or not chosen:
        return None
    workspace, role = chosen[0]
    return Console(user=user, workspace=workspace, role=role, csrf=csrf_token(request),
                   locale=request_locale(request, user), workspaces=[w for w, _ in memberships])


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str, Query(max_length=500)] = "/") -> HTMLResponse:
    return render(request, "login.html", locale=request_locale(request), csrf=csrf_token(request),
                  next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, email: Annotated[str, Form(max_length=320)] = "",
          password: Annotated[str, Form(max_length=500)] = "", csrf: Token = "",
          next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    with read(runtime_of(request).engine) as conn:
        user = workspace_store.find_user_by_email(conn, email.strip()) if email.strip() else None
        memberships = workspace_store.memberships(conn, user.id) if user else []
    password_ok = verify_password(user.password_hash if user else _DECOY_HASH, password)
    if not csrf_ok(request, csrf) or user is None or not password_ok or not memberships:
        return render(request, "login.html", locale=request_locale(request), csrf=csrf_token(request),
                      next=safe_next(next), error="Wrong e-mail or password.", status=400)
    chosen_locale = request.session.get("locale")
    request.session.clear()
    request.session.update({"user_id": user.id, "csrf": secrets.token_urlsafe(24)})
    if chosen_locale:
        request.session["locale"] = chosen_locale
    if len(memberships) == 1:
        workspace, role = memberships[0]
        request.session.update({"workspace_id": workspace.id, "role": role.value})
        return RedirectResponse(safe_next(next), status_code=303)
    return RedirectResponse("/workspaces", status_code=303)


@router.get("/workspaces", response_class=HTMLResponse)
def choose_workspace(request: Request) -> Response:
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        user = workspace_store.get_user(conn, user_id)
        memberships = workspace_store.memberships(conn, user_id) if user else []
    if user is None:
        return login_redirect(request)
    return render(request, "workspaces.html", locale=request_locale(request, user), csrf=csrf_token(request),
                  memberships=memberships)


@router.post("/workspaces")
def switch_workspace(request: Request, workspace_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                     csrf: Token = "") -> Response:
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int) or not csrf_ok(request, csrf):
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        memberships = workspace_store.memberships(conn, user_id)
    for workspace, role in memberships:
        if workspace.id == workspace_id:
            request.session.update({"workspace_id": workspace.id, "role": role.value})
            return RedirectResponse("/", status_code=303)
    return RedirectResponse("/workspaces", status_code=303)  # not a member: choose again, learn nothing


@router.post("/logout")
def logout(request: Request, csrf: Token = "") -> Response:
    if csrf_ok(request, csrf):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/settings/language")
def set_language(request: Request, locale: Annotated[str, Form(max_length=10)] = "", csrf: Token = "",
                 back: Annotated[str, Form(max_length=500)] = "/") -> Response:
    """Switch language: saved on the user when signed in (it follows them to other browsers), and
    kept in the session either way so that the sign-in page can be switched too."""
    chosen = normalise(locale)
    if chosen not in SUPPORTED or not csrf_ok(request, csrf):
        return RedirectResponse(safe_next(back), status_code=303)
    request.session["locale"] = chosen
    console = current(request)
    if console is not None:
        with write(runtime_of(request).engine) as conn:
            workspace_store.set_user_locale(conn, console.user.id, chosen)
    return RedirectResponse(safe_next(back), status_code=303)
