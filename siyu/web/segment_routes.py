"""Console pages for segments (list, builder, one segment) and the built-in scores (RFM grid, lifecycle).

The builder and the live count talk to the management API (``/api/segments/preview``) with the
console session and its CSRF token, so the console can do nothing the API would not allow.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import Connection

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.profiles import tag_store
from siyu.segments import membership, scoring
from siyu.segments import store as segment_store
from siyu.segments.errors import SegmentNotFound
from siyu.web.errors import ConsoleRoute
from siyu.web.i18n import translations
from siyu.web.routes import _page
from siyu.web.segment_vocabulary import builder_vocabulary
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
SegmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MEMBERS_SHOWN = 50
# Every member's id in one file is a bulk export of customers, so it needs the role's ``export``
# permission (owner, operator, analyst), not only a session: staff serve people one at a time.
MEMBERS_EXPORT_PERMISSION = Permission.EXPORT
# The page a refused download shows: (heading, explanation), msgids of the console catalogues.
MEMBERS_EXPORT_REFUSED = (
    "Your role may not export segment members",
    "Downloading a segment's members is an export: it needs the export permission (owner, operator or "
    "analyst). Ask an owner of the workspace to change your role.",
)


@router.get("/segments", response_class=HTMLResponse)
def segments_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        segments = segment_store.list_segments(conn, console.workspace.id)
        tags = [t["name"] for t in tag_store.list_tags(conn, console.workspace.id)]
        tiers = _tier_names(conn, console.workspace.id)
    vocabulary = builder_vocabulary(translations(console.locale).gettext, console.locale, tags, tiers)
    return _page(request, "segments.html", console, segments=segments, vocabulary=vocabulary)


def _tier_names(conn: Connection, workspace_id: int) -> list[str] | None:
    """The ladder's tier names, lowest first, for the builder's tier choices (None: no programme yet)."""
    from siyu.loyalty.errors import ProgrammeMissing
    from siyu.loyalty.store import get_programme

    try:
        return [tier.name for tier in get_programme(conn, workspace_id)[0].tiers]
    except ProgrammeMissing:
        return None


@router.get("/segments/{segment_id}", response_class=HTMLResponse)
def segment_page(request: Request, segment_id: SegmentId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    try:
        with read(runtime_of(request).engine) as conn:
            segment = segment_store.get_segment(conn, workspace_id, segment_id)
            count = membership.live_count(conn, workspace_id, segment, clock.now())
            sizes = segment_store.size_history(conn, workspace_id, segment_id)
            members = segment_store.member_ids(conn, workspace_id, segment_id, limit=MEMBERS_SHOWN)
    except SegmentNotFound:
        return _page(request, "not_found.html", console, status=404)
    return _page(request, "segment.html", console, segment=segment, count=count, sizes=sizes, members=members)


@router.get("/segments/{segment_id}/members.csv")
def segment_export(request: Request, segment_id: SegmentId) -> Response:
    """Every member's profile id, for the operator's spreadsheet or an upload elsewhere."""
    console = current(request)
    if console is None:
        return login_redirect(request)
    if MEMBERS_EXPORT_PERMISSION not in ROLE_PERMISSIONS[console.role]:
        return _export_refused(request, console)
    workspace_id = console.workspace.id
    with read(runtime_of(request).engine) as conn:
        try:
            segment = segment_store.get_segment(conn, workspace_id, segment_id)
        except SegmentNotFound:
            return _page(request, "not_found.html", console, status=404)
        rows, after = [], 0
        while batch := segment_store.member_ids(conn, workspace_id, segment_id, after=after, limit=10_000):
            rows.extend(batch)
            after = batch[-1]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["profile_id"])
    writer.writerows([pid] for pid in rows)
    filename = f"segment-{segment['id']}.csv"
    return StreamingResponse(iter(["\ufeff" + buffer.getvalue()]), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _export_refused(request: Request, console: Console) -> Response:
    heading, message = MEMBERS_EXPORT_REFUSED
    return _page(request, "error.html", console, status=403, heading=heading, message=message, signed_in=True)


@router.get("/scores", response_class=HTMLResponse)
def scores_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        rfm = scoring.rfm_report(conn, console.workspace.id)
        lifecycle = scoring.lifecycle_report(conn, console.workspace.id, console.workspace.settings)
    return _page(request, "scores.html", console, rfm=rfm, lifecycle=lifecycle)
