"""Console pages for surveys (问卷与 NPS): the list with a create form, and one survey's NPS report —
a chart of NPS per week or month (ECharts), optionally for a segment's members, and the latest answers.

Creating is done by the page's script through ``POST /api/surveys`` with the console session and its
CSRF token, so the survey is checked by the capability's own rules. Roles without ``messages:send``
(analyst, staff) see the surveys and reports but not the form.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.segments import store as segment_store
from siyu.segments.errors import SegmentNotFound
from siyu.surveys import nps, store
from siyu.surveys.api import report, segment_report
from siyu.surveys.errors import SurveyNotFound
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
SurveyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/surveys", response_class=HTMLResponse)
def surveys_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        listed = store.list_surveys(conn, console.workspace.id)
        answered = store.overall_by_survey(conn, console.workspace.id)
        timezone = console.workspace.timezone
        latest = next((s for s in listed if answered.get(s.id)), None)
        by_segment = segment_report(conn, console.workspace.id, latest.id) if latest is not None else None
    overall = {s.id: nps.summary(score for _, score in answered.get(s.id, [])) for s in listed}
    return _page(request, "surveys.html", console, surveys=listed, overall=overall, latest=latest,
                 charts=_list_charts(listed, answered, timezone, by_segment),
                 may_manage=Permission.MESSAGES_SEND in ROLE_PERMISSIONS[console.role], data={"csrf": console.csrf})


CHARTED = 5  # surveys drawn on the list's NPS-over-time chart: the newest with answers


def _list_charts(listed: list, answered: dict, timezone: str, by_segment: dict | None) -> dict:
    """The list page's two charts: weekly NPS of the newest surveys with answers (one line each, on a
    shared axis of weeks), and the NPS of each segment for the newest survey with answers."""
    drawn = [s for s in listed if answered.get(s.id)][:CHARTED]
    weekly = {s.id: {str(p["period"]): p["nps"] for p in nps.over_time(answered[s.id], "week", timezone)}
              for s in drawn}
    weeks = sorted({week for periods in weekly.values() for week in periods})
    segments = (by_segment or {}).get("segments", [])
    return {"weeks": weeks,
            "series": [{"name": s.name, "nps": [weekly[s.id].get(week) for week in weeks]} for s in reversed(drawn)],
            "segments": [row["name"] for row in segments], "segment_nps": [row["nps"] for row in segments],
            "segment_answers": [row["answers"] for row in segments]}


@router.get("/surveys/{survey_id}", response_class=HTMLResponse)
def survey_page(request: Request, survey_id: SurveyId, by: Literal["week", "month"] = "week",
                segment: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    try:
        with read(runtime_of(request).engine) as conn:
            survey = store.get_survey(conn, workspace_id, survey_id)
            found = report(conn, workspace_id, survey_id, by, segment)
            answers = store.recent_answers(conn, workspace_id, survey_id)
            segments = segment_store.list_segments(conn, workspace_id)
    except (SurveyNotFound, SegmentNotFound):
        return _page(request, "not_found.html", console, status=404)
    chart = {"labels": [p["period"] for p in found["periods"]], "nps": [p["nps"] for p in found["periods"]],
             "answers": [p["answers"] for p in found["periods"]]}
    language = "en" if console.locale.startswith("en") else "zh"
    return _page(request, "survey.html", console, survey=survey, report=found, answers=answers, chart=chart,
                 segments=segments, by=by, segment=segment, language=language)
