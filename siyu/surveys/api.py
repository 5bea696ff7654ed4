"""``/api/surveys``: create and list surveys, issue signed per-person links, and the NPS report
(over time by week or month, optionally for a segment's members)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.surveys import nps, store
from siyu.surveys.models import checked_texts
from siyu.surveys.page import issue_links
from siyu.surveys.sends import DEFAULT_SEND, MAX_SEND_KEY, SEND_KEY_PATTERN
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/surveys", tags=["surveys"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SurveyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    texts: dict[str, Any] | None = Field(None, description="question / comment / thanks, each {zh, en}")
    ask_comment: bool = True


class StatusIn(BaseModel):
    status: Literal["active", "closed"]


class LinksIn(BaseModel):
    profile_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(None, max_length=1000)
    segment_id: int | None = Field(None, ge=1, le=2**31 - 1)
    send_key: str = Field(DEFAULT_SEND, min_length=1, max_length=MAX_SEND_KEY, pattern=SEND_KEY_PATTERN)
    save_trait: bool = Field(True, description="Also store each link in the trait survey_<id>_link")


@router.get("", summary="Surveys, newest first")
def list_surveys(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [s.to_dict() for s in store.list_surveys(conn, caller.workspace_id)]


@router.post("", status_code=201, summary="Create a survey (an NPS question and an optional comment)")
def create_survey(request: Request, caller: Writer, body: SurveyIn) -> dict[str, Any]:
    texts = checked_texts(body.texts, body.ask_comment)
    with write(runtime_of(request).engine) as conn:
        return store.create_survey(conn, caller.workspace_id, body.name.strip(), texts, clock.now()).to_dict()


@router.get("/{survey_id}", summary="A survey and its latest answers")
def get_survey(request: Request, caller: Reader, survey_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        survey = store.get_survey(conn, caller.workspace_id, survey_id)
        return {**survey.to_dict(), "answers": store.recent_answers(conn, caller.workspace_id, survey_id)}


@router.post("/{survey_id}/status", summary="Close or reopen a survey")
def set_status(request: Request, caller: Writer, survey_id: Id, body: StatusIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return store.set_status(conn, caller.workspace_id, survey_id, body.status).to_dict()


@router.post("/{survey_id}/links", summary="Signed per-person links to the survey's page")
def links(request: Request, caller: Writer, survey_id: Id, body: LinksIn) -> dict[str, Any]:
    rt = runtime_of(request)
    with write(rt.engine) as conn:
        found = issue_links(conn, rt, caller.workspace_id, survey_id, profile_ids=body.profile_ids,
                            segment_id=body.segment_id, send_key=body.send_key, save_trait=body.save_trait)
    return {"survey_id": survey_id, "send_key": body.send_key, "links": found}


@router.get("/{survey_id}/nps", summary="NPS over time (by week or month), optionally for a segment")
def nps_report(request: Request, caller: Reader, survey_id: Id, by: Literal["week", "month"] = "week",
               segment_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               interval: Annotated[Literal["week", "month"] | None, Query(
                   description="the same as by (the name reports use elsewhere); wins when both are given")] = None,
               ) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return report(conn, caller.workspace_id, survey_id, interval or by, segment_id)


@router.get("/{survey_id}/nps/segments", summary="NPS of each active segment's members, most answers first")
def nps_by_segment(request: Request, caller: Reader, survey_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return segment_report(conn, caller.workspace_id, survey_id)


def segment_report(conn: Any, workspace_id: int, survey_id: int) -> dict[str, Any]:
    """NPS by segment: each active segment's members' answers (a person counts in every segment they
    are in now), beside everyone's, so a segment can be read against the whole."""
    from siyu.segments import store as segment_store

    store.get_survey(conn, workspace_id, survey_id)
    names = {s["id"]: s["name"] for s in segment_store.list_segments(conn, workspace_id)}
    everyone = nps.summary(score for _, score in store.answers(conn, workspace_id, survey_id))
    return {"survey_id": survey_id, "overall": everyone,
            "segments": nps.by_segment(store.answers_by_segment(conn, workspace_id, survey_id), names)}


def report(conn: Any, workspace_id: int, survey_id: int, by: str, segment_id: int | None) -> dict[str, Any]:
    """The NPS report the API, the CLI and the console show."""
    from siyu.segments import store as segment_store

    store.get_survey(conn, workspace_id, survey_id)
    if segment_id is not None:
        segment_store.get_segment(conn, workspace_id, segment_id)
    timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    answers = store.answers(conn, workspace_id, survey_id, segment_id=segment_id)
    return {"survey_id": survey_id, "by": by, "segment_id": segment_id, "timezone": timezone,
            "overall": nps.summary(score for _, score in answers),
            "periods": nps.over_time(answers, by, timezone)}


def current_nps(conn: Any, workspace_id: int) -> dict[str, Any] | None:
    """The workspace's current NPS, for the reports overview: the newest survey with answers and its
    NPS over all of them (as the surveys list shows it); None before any survey has an answer."""
    survey = store.newest_answered_survey(conn, workspace_id)
    if survey is None:
        return None
    scores = [score for _, score in store.answers(conn, workspace_id, survey.id)]
    return {"survey_id": survey.id, "name": survey.name, **nps.summary(scores)}
