"""Console pages for hosted forms (留资页): the list with views, submissions and conversion, the
definition editor, and one form with its daily funnel and the latest submissions with their consent
evidence.

The pages read through the forms capability; creating and editing are done by the page's script
through ``POST /api/forms`` and ``PATCH /api/forms/{id}`` with the console session and its CSRF
token, so the definition is checked by the capability's own parser and a refusal
(``forms.invalid_definition`` with ``details.path``, e.g. ``fields[1].options``) is shown beside the
editor with the path it names. Roles without ``profiles:write`` see the forms but not the editor.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu.acquisition import forms_store as store
from siyu.acquisition.forms import FormNotFound
from siyu.acquisition.forms_page import views as page_views
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
FormId = Annotated[int, Path(ge=1, le=2**62)]
EDIT_PERMISSION = Permission.PROFILES_WRITE  # the API's for creating and changing forms
LATEST_SUBMISSIONS = 20
FUNNEL = ("views", "codes_sent", "submissions")

# The definition a new form starts from: every part named, so the editor shows what can be written.
STARTER: dict[str, Any] = {
    "name": "新客礼",
    "title": {"zh": "领取新客礼", "en": "Claim your welcome gift"},
    "description": {"zh": "留下手机号，领取小样", "en": "Leave your number for a sample"},
    "fields": [{"key": "name", "label": {"zh": "姓名", "en": "Name"}, "required": True}],
    "consent": {"text": {"zh": "我同意通过短信接收优惠信息", "en": "I agree to receive offers by SMS"},
                "privacy_url": "https://brand.example/privacy",
                "purposes": [{"channel": "sms", "purpose": "marketing"}]},
    "verify_phone": True,
    "sms": {"sign_name": "品牌名", "template_code": "SMS_000000000", "param": "code"},
    "channel": {"source": "xiaohongshu", "medium": "post"},
    "tags": ["新客"],
    "success": {"zh": "提交成功", "en": "Thank you!"},
}


def may_edit(console: Console) -> bool:
    return EDIT_PERMISSION in ROLE_PERMISSIONS[console.role]


def totals(days: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The form's figures over all days; conversion = submissions / views (None before any view)."""
    summed = {key: sum(day[key] for day in days.values()) for key in ("views", "codes_sent", "codes_failed",
                                                                      "submissions")}
    return {**summed, "conversion": summed["submissions"] / summed["views"] if summed["views"] else None}


def public_url(request: Request, form: dict[str, Any]) -> str:
    return f"{runtime_of(request).config.public_url}/f/{form['slug']}"


@router.get("/forms", response_class=HTMLResponse)
def forms_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    page_views(runtime_of(request)).flush()  # this process's page views, counted in memory until now
    with read(runtime_of(request).engine) as conn:
        listed = [(form, totals(store.daily_figures(conn, workspace_id, form["id"], console.workspace.timezone)))
                  for form in store.list_forms(conn, workspace_id)]
    return _page(request, "forms.html", console, forms=listed, may_edit=may_edit(console))


def _editor(request: Request, console: Console, form: dict[str, Any] | None) -> Response:
    if not may_edit(console):
        return _page(request, "form_edit.html", console, status=403, may_edit=False, form=form, data=None)
    definition = form["definition"] if form else STARTER
    data = {"csrf": console.csrf}
    return _page(request, "form_edit.html", console, may_edit=True, form=form, data=data,
                 definition=json.dumps(definition, ensure_ascii=False, indent=2))


@router.get("/forms/new", response_class=HTMLResponse)
def new_form_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _editor(request, console, None)


@router.get("/forms/{form_id}/edit", response_class=HTMLResponse)
def edit_form_page(request: Request, form_id: FormId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    try:
        with read(runtime_of(request).engine) as conn:
            form = store.get_form(conn, console.workspace.id, form_id)
    except FormNotFound:
        return _page(request, "not_found.html", console, status=404)
    return _editor(request, console, form)


@router.get("/forms/{form_id}", response_class=HTMLResponse)
def form_page(request: Request, form_id: FormId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    page_views(runtime_of(request)).flush()
    try:
        with read(runtime_of(request).engine) as conn:
            form = store.get_form(conn, workspace_id, form_id)
            days = store.daily_figures(conn, workspace_id, form_id, console.workspace.timezone)
            latest = store.submissions(conn, workspace_id, form_id, limit=LATEST_SUBMISSIONS)
    except FormNotFound:
        return _page(request, "not_found.html", console, status=404)
    chart = {"labels": [day[5:] for day in days], "series": {key: [d[key] for d in days.values()] for key in FUNNEL}}
    return _page(request, "form.html", console, form=form, figures=totals(days), chart=chart, submissions=latest,
                 url=public_url(request, form), may_edit=may_edit(console), data={"csrf": console.csrf})
