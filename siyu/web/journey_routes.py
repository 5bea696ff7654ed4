"""Console pages for journeys (营销自动化): the list, one journey's flow with live counts, and the editor.

The pages read through the journeys capability; every change (create, save the draft, publish,
pause, resume, archive) is made by the page's script through ``/api/journeys`` with the console
session and its CSRF token, so the API's checks and refusals are the console's: a definition the
parser refuses comes back with the ``path`` and ``step`` it names and is shown beside that step's
field. The flow page draws the published version (the draft before the first publish) and polls
``GET /api/journeys/{id}/stats`` for the counts per step. Roles without ``messages:send``
(analyst, staff) read the list and the flow, but get neither the editor nor the buttons.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.journeys import lifecycle, stats, store, templates
from siyu.journeys.definitions import STEP_KINDS, TRIGGER_KINDS
from siyu.journeys.errors import JourneyNotFound
from siyu.messaging.models import Purpose
from siyu.messaging.outbox import AVAILABLE
from siyu.segments import store as segment_store
from siyu.web.errors import ConsoleRoute
from siyu.web.i18n import term_label, translations
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
JourneyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EDIT_PERMISSION = Permission.MESSAGES_SEND  # the API's for every change: journeys send messages
REFRESH_SECONDS = 5  # how often the flow page asks for fresh counts


def may_edit(console: Console) -> bool:
    return EDIT_PERMISSION in ROLE_PERMISSIONS[console.role]


def _language(console: Console) -> str:
    """The journey templates' language for this reader (they come in zh and en)."""
    return "zh" if console.locale.startswith("zh") else "en"


@router.get("/journeys", response_class=HTMLResponse)
def journeys_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        listed = [(journey, stats.journey_stats(conn, workspace_id, journey.id))
                  for journey in store.list_journeys(conn, workspace_id, include_archived=True)]
    ready = [templates.get(key, _language(console)) for key in templates.KEYS]
    data = {"csrf": console.csrf, "language": _language(console)}
    return _page(request, "journeys.html", console, journeys=listed, ready=ready, may_edit=may_edit(console),
                 data=data)


def _drawn(conn: Any, workspace_id: int, journey: Any) -> dict[str, Any]:
    """The definition the flow shows: the latest published version, or the draft before any."""
    if journey.version:
        return store.get_version(conn, workspace_id, journey.id, journey.version).definition
    return journey.draft


def _vocabulary(console: Console, segments: list[dict[str, Any]]) -> dict[str, Any]:
    gettext = translations(console.locale).gettext
    return {"step_kinds": list(STEP_KINDS), "trigger_kinds": list(TRIGGER_KINDS),
            "channels": [[c.value, term_label(c.value, gettext)] for c in AVAILABLE],
            "purposes": [[p.value, term_label(p.value, gettext)] for p in Purpose],
            "segments": [[s["id"], s["name"]] for s in segments]}


def _editor(request: Request, console: Console, journey: Any) -> Response:
    if not may_edit(console):
        return _page(request, "journey_edit.html", console, status=403, may_edit=False, journey=journey, data=None)
    with read(runtime_of(request).engine) as conn:
        segments = segment_store.list_segments(conn, console.workspace.id)
    draft = journey.draft if journey else {"trigger": {"event": ""}, "steps": []}
    data = {"csrf": console.csrf, "id": journey.id if journey else None, "name": journey.name if journey else "",
            "description": (journey.description or "") if journey else "", "definition": draft,
            "vocabulary": _vocabulary(console, segments)}
    return _page(request, "journey_edit.html", console, may_edit=True, journey=journey, data=data)


# Before /journeys/{journey_id}: routes match in order, and "new" would otherwise be a malformed id (404).
@router.get("/journeys/new", response_class=HTMLResponse)
def new_journey_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _editor(request, console, None)


@router.get("/journeys/{journey_id}/edit", response_class=HTMLResponse)
def edit_journey_page(request: Request, journey_id: JourneyId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    try:
        with read(runtime_of(request).engine) as conn:
            journey = store.get_journey(conn, console.workspace.id, journey_id)
    except JourneyNotFound:
        return _page(request, "not_found.html", console, status=404)
    return _editor(request, console, journey)


@router.get("/journeys/{journey_id}", response_class=HTMLResponse)
def journey_page(request: Request, journey_id: JourneyId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    try:
        with read(runtime_of(request).engine) as conn:
            journey = store.get_journey(conn, workspace_id, journey_id)
            described = lifecycle.describe(conn, workspace_id, journey_id)
            figures = stats.journey_stats(conn, workspace_id, journey_id)
            definition = _drawn(conn, workspace_id, journey)
    except JourneyNotFound:
        return _page(request, "not_found.html", console, status=404)
    data = {"csrf": console.csrf, "id": journey.id, "definition": definition, "stats": figures,
            "refresh_seconds": REFRESH_SECONDS}
    return _page(request, "journey.html", console, journey=journey, versions=described["versions"], figures=figures,
                 draft_differs=bool(journey.version) and journey.draft != definition, may_edit=may_edit(console),
                 data=data)
