"""Console pages for keyword replies and welcome messages (关键词回复 / 欢迎语): the rules in the order
they are tried with their match counts, the rule editor, and the default welcome per platform.

The pages read through the replies capability; every change — create or edit a rule, switch it on
or off, set a platform's welcome — is made by the page's script through ``/api/replies`` with the
console session and its CSRF token, so a template that does not compile or a bad pattern is refused
by the capability and shown beside the field it names. Roles without ``messages:send`` (replies send
messages) see the rules and the welcomes without the editors.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu.acquisition import replies_store
from siyu.acquisition.replies import MATCHES, TRIGGERS, RepliesError, Rule
from siyu.acquisition.replies_service import PLATFORMS
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
RuleId = Annotated[int, Path(ge=1, le=2**62)]
EDIT_PERMISSION = Permission.MESSAGES_SEND  # the API's for every change: replies send messages

# What an unset welcome starts from, in each platform's own shape (docs/replies.md).
WELCOME_STARTERS: dict[str, dict[str, Any]] = {
    "wechat": {"msgtype": "text", "text": {"content": "{{ profile.traits.name | default('新朋友') }}，欢迎关注！"}},
    "wecom": {"text": {"content": "你好，我是小完子～"}, "attachments": []},
}


def may_edit(console: Console) -> bool:
    return EDIT_PERMISSION in ROLE_PERMISSIONS[console.role]


def reply_text(reply: dict[str, Any]) -> str | None:
    """The text of a plain text reply, which the editor shows as a text box; None for any other shape."""
    if reply.get("msgtype") == "text" and set(reply) == {"msgtype", "text"} and set(reply["text"]) == {"content"}:
        return str(reply["text"]["content"])
    return None


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@router.get("/replies", response_class=HTMLResponse)
def replies_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        rules = replies_store.rules_of(conn, console.workspace.id)
        welcomes = {w["platform"]: w for w in replies_store.welcomes_of(conn, console.workspace.id)}
    editors = {platform: _pretty(welcomes[platform]["content"] if platform in welcomes else starter)
               for platform, starter in WELCOME_STARTERS.items()}
    return _page(request, "replies.html", console, rules=rules, welcomes=welcomes, editors=editors,
                 platforms=list(PLATFORMS), may_edit=may_edit(console), data={"csrf": console.csrf})


def _editor(request: Request, console: Console, rule: Rule | None) -> Response:
    if not may_edit(console):
        return _page(request, "reply_edit.html", console, status=403, may_edit=False, rule=rule, data=None)
    text = reply_text(rule.reply) if rule else ""
    return _page(request, "reply_edit.html", console, may_edit=True, rule=rule, triggers=TRIGGERS, matches=MATCHES,
                 text=text, reply_json="" if text is not None else _pretty(rule.reply if rule else {}),
                 variants=_pretty(rule.as_dict()["variants"]) if rule and rule.variants else "",
                 data={"csrf": console.csrf})


@router.get("/replies/new", response_class=HTMLResponse)
def new_rule_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _editor(request, console, None)


@router.get("/replies/{rule_id}/edit", response_class=HTMLResponse)
def edit_rule_page(request: Request, rule_id: RuleId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    try:
        with read(runtime_of(request).engine) as conn:
            rule = replies_store.get_rule(conn, console.workspace.id, rule_id)
    except RepliesError as error:
        if error.status != 404:
            raise
        return _page(request, "not_found.html", console, status=404)
    return _editor(request, console, rule)
