"""Management API of hosted forms: ``/api/forms``. The public page is in :mod:`forms_page`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.acquisition import forms_store as store
from siyu.acquisition.forms import FormError, parse_definition
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/forms", tags=["forms"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
FormId = Annotated[int, Path(ge=1, le=2**62)]


class FormIn(BaseModel):
    definition: dict[str, Any]


class FormPatch(BaseModel):
    definition: dict[str, Any] | None = None
    status: str | None = Field(default=None, pattern="^(active|archived)$")


class FormOut(BaseModel):
    id: int
    slug: str
    name: str
    status: str
    version: int
    url: str
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    figures: dict[str, Any] | None = None


class SubmissionOut(BaseModel):
    id: int
    form_version: int
    profile_id: int | None
    phone: str
    fields: dict[str, Any]
    channel: dict[str, Any]
    consent: dict[str, Any]
    ip: str | None
    user_agent: str | None
    created_at: datetime


def _out(request: Request, form: dict[str, Any], figures: dict[str, Any] | None = None) -> FormOut:
    base = runtime_of(request).config.public_url
    return FormOut(**form, url=f"{base}/f/{form['slug']}", figures=figures)


def _figures(conn: Any, workspace_id: int, form_id: int) -> dict[str, Any]:
    timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    days = store.daily_figures(conn, workspace_id, form_id, timezone)
    counts = {key: sum(day[key] for day in days.values()) for key in ("views", "codes_sent", "codes_failed",
                                                                      "submissions")}
    conversion = round(counts["submissions"] / counts["views"], 4) if counts["views"] else None
    return {"total": {**counts, "conversion": conversion}, "days": days}


@router.post("", status_code=201, response_model=FormOut, summary="Create a hosted form")
def create_form(request: Request, caller: Writer, body: FormIn) -> FormOut:
    definition = parse_definition(body.definition).as_json()
    with write(runtime_of(request).engine) as conn:
        return _out(request, store.create_form(conn, caller.workspace_id, definition, clock.now()))


@router.get("", response_model=list[FormOut], summary="Every form of the workspace, newest first")
def list_forms(request: Request, caller: Reader) -> list[FormOut]:
    with read(runtime_of(request).engine) as conn:
        return [_out(request, form) for form in store.list_forms(conn, caller.workspace_id)]


@router.get("/{form_id}", response_model=FormOut, summary="A form with its figures: views, codes, submissions")
def get_form(request: Request, caller: Reader, form_id: FormId) -> FormOut:
    from siyu.acquisition.forms_page import views

    views(runtime_of(request)).flush()  # this process's page views, counted in memory until now
    with read(runtime_of(request).engine) as conn:
        form = store.get_form(conn, caller.workspace_id, form_id)
        return _out(request, form, _figures(conn, caller.workspace_id, form_id))


@router.patch("/{form_id}", response_model=FormOut, summary="Change a form's definition or archive it")
def update_form(request: Request, caller: Writer, form_id: FormId, body: FormPatch) -> FormOut:
    if body.definition is None and body.status is None:
        raise FormError("Nothing to change: give definition and/or status.", code="forms.nothing_to_change")
    definition = parse_definition(body.definition).as_json() if body.definition is not None else None
    with write(runtime_of(request).engine) as conn:
        return _out(request, store.update_form(conn, caller.workspace_id, form_id, definition=definition,
                                               status=body.status, now=clock.now()))


@router.get("/{form_id}/submissions", response_model=list[SubmissionOut],
            summary="Submissions, newest first, each with the consent text the person saw")
def submissions(request: Request, caller: Reader, form_id: FormId,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                before: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> list[SubmissionOut]:
    with read(runtime_of(request).engine) as conn:
        store.get_form(conn, caller.workspace_id, form_id)
        return [SubmissionOut(**row) for row in store.submissions(conn, caller.workspace_id, form_id, limit=limit,
                                                                  before_id=before)]
