"""Console pages for broadcasts (群发): the list, the composer and one broadcast.

The pages read through the messaging capability; every change (preview, schedule, test send,
cancel) is made by the page's script through ``/api/broadcasts`` with the console session and its
CSRF token, so the console can do nothing the API would not allow and shows the API's own refusals
(``details.field``) beside the field they name. Roles without ``messages:send`` (analyst, staff)
see the list and each broadcast, but neither the composer nor the buttons.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.messaging import broadcast_store, broadcasts
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.outbox import AVAILABLE, MessagingError
from siyu.segments import store as segment_store
from siyu.web.errors import ConsoleRoute
from siyu.web.i18n import TERMS, term_label, translations
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
BroadcastId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SEND_PERMISSION = Permission.MESSAGES_SEND  # the API's for create, test and cancel


def may_send(console: Console) -> bool:
    return SEND_PERMISSION in ROLE_PERMISSIONS[console.role]


def reason_labels(locale: str) -> dict[str, str]:
    """The reader's words for the codes a preview or the figures name (channels, policy reasons)."""
    gettext = translations(locale).gettext
    return {code: term_label(code, gettext) for code in TERMS}


def _segment_names(conn: Any, workspace_id: int) -> dict[int, str]:
    return {s["id"]: s["name"] for s in segment_store.list_segments(conn, workspace_id, include_archived=True)}


@router.get("/broadcasts", response_class=HTMLResponse)
def broadcasts_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        listed = [{**b, "figures": broadcast_store.figures(conn, workspace_id, b["id"])}
                  for b in broadcast_store.listing(conn, workspace_id)]
        names = _segment_names(conn, workspace_id)
    return _page(request, "broadcasts.html", console, broadcasts=listed, segment_names=names,
                 may_send=may_send(console))


@router.get("/broadcasts/new", response_class=HTMLResponse)
def composer_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    if not may_send(console):
        return _page(request, "broadcast_new.html", console, status=403, may_send=False, composer=None)
    with read(runtime_of(request).engine) as conn:
        segments = segment_store.list_segments(conn, console.workspace.id)
    composer = {
        "csrf": console.csrf,
        "timezone": console.workspace.timezone,
        "segments": [{"id": s["id"], "name": s["name"], "size": s["size"]} for s in segments],
        "channels": [[c.value, term_label(c.value, translations(console.locale).gettext)] for c in AVAILABLE],
        "purposes": [p.value for p in Purpose],
        "reasons": reason_labels(console.locale),
    }
    return _page(request, "broadcast_new.html", console, may_send=True, composer=composer,
                 channels=[c.value for c in Channel if c in AVAILABLE])


@router.get("/broadcasts/{broadcast_id}", response_class=HTMLResponse)
def broadcast_page(request: Request, broadcast_id: BroadcastId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    try:
        with read(runtime_of(request).engine) as conn:
            found = broadcasts.describe(conn, workspace_id, broadcast_id)
            names = _segment_names(conn, workspace_id)
    except MessagingError as error:
        if error.code != "messaging.not_found":  # another workspace's id, or none at all
            raise
        return _page(request, "not_found.html", console, status=404)
    stops = {key.split(":", 1)[1]: count for key, count in found["figures"].items() if key.startswith("stopped:")}
    data = {"csrf": console.csrf, "id": found["id"]}
    return _page(request, "broadcast.html", console, broadcast=found, segment_name=names.get(found["segment_id"]),
                 stops=stops, may_send=may_send(console), data=data)
