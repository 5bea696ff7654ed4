"""Management API for segments: preview a definition, save it, read its size and members, refresh it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import ExportFormat
from siyu.analytics.reports_api import file_response
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.segments import membership, store
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/segments", tags=["segments"])
# ``?format=csv|xlsx`` downloads what the JSON gives, as the reports do (siyu.analytics.reports.export).
Format = Annotated[ExportFormat, Query(alias="format", description="json (default), csv or xlsx.")]
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]
SegmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Definition = dict[str, Any]


class PreviewIn(BaseModel):
    definition: Definition


class PreviewOut(BaseModel):
    count: int
    sample: list[int]  # up to 20 profile ids, newest first
    definition: Definition  # the canonical form that would be saved


class SegmentIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str | None, Field(max_length=2000)] = None
    definition: Definition


class SegmentPatch(BaseModel):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    description: Annotated[str | None, Field(max_length=2000)] = None
    definition: Definition | None = None
    status: Literal["active", "archived"] | None = None


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str | None
    definition: Definition
    status: str
    count: int | None  # evaluated now; None in the list (one full evaluation per segment would be slow)
    size: int  # stored membership, as of refreshed_at and the real-time updates since
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class SizeOut(BaseModel):
    day: str
    size: int
    entered: int
    exited: int


SIZE_COLUMNS = ("day", "size", "entered", "exited")


class MembersOut(BaseModel):
    profile_ids: list[int]
    next_after: int | None  # pass as ?after= for the next page


class RefreshOut(BaseModel):
    segment_id: int
    entered: int
    exited: int
    size: int


def _timezone(conn: Any, workspace_id: int) -> str:
    return workspace_store.get_workspace(conn, workspace_id).timezone


def _out(conn: Any, workspace_id: int, segment: dict[str, Any], *, evaluate: bool = True) -> SegmentOut:
    count = None
    if evaluate:
        count = membership.live_count(conn, workspace_id, segment, clock.now()) if segment["status"] == "active" else 0
    return SegmentOut(**segment, count=count)


@router.post("/preview", response_model=PreviewOut, summary="Count and sample a definition without saving it")
def preview(request: Request, caller: Reader, body: PreviewIn) -> PreviewOut:
    with read(runtime_of(request).engine) as conn:
        return PreviewOut(**membership.preview(conn, caller.workspace_id, body.definition, clock.now()))


@router.post("", response_model=SegmentOut, status_code=201, summary="Save a segment and compute its members")
def create(request: Request, caller: Manager, body: SegmentIn) -> SegmentOut:
    with write(runtime_of(request).engine) as conn:
        segment = membership.save(conn, caller.workspace_id, name=body.name, description=body.description,
                                  definition=body.definition, actor=caller.actor, now=clock.now(),
                                  timezone=_timezone(conn, caller.workspace_id))
        return _out(conn, caller.workspace_id, segment)


@router.get("", response_model=list[SegmentOut], summary="Segments of this workspace, with stored sizes")
def list_all(request: Request, caller: Reader, archived: bool = False) -> list[SegmentOut]:
    with read(runtime_of(request).engine) as conn:
        return [_out(conn, caller.workspace_id, s, evaluate=False)
                for s in store.list_segments(conn, caller.workspace_id, include_archived=archived)]


@router.get("/{segment_id}", response_model=SegmentOut, summary="One segment with its current count")
def get(request: Request, caller: Reader, segment_id: SegmentId) -> SegmentOut:
    with read(runtime_of(request).engine) as conn:
        return _out(conn, caller.workspace_id, store.get_segment(conn, caller.workspace_id, segment_id))


@router.patch("/{segment_id}", response_model=SegmentOut, summary="Rename, redefine, archive or restore")
def patch(request: Request, caller: Manager, segment_id: SegmentId, body: SegmentPatch) -> SegmentOut:
    with write(runtime_of(request).engine) as conn:
        segment = membership.change(conn, caller.workspace_id, segment_id, body.model_dump(exclude_unset=True),
                                    clock.now(), _timezone(conn, caller.workspace_id))
        return _out(conn, caller.workspace_id, segment)


@router.post("/{segment_id}/refresh", response_model=RefreshOut, summary="Re-evaluate membership now")
def refresh(request: Request, caller: Manager, segment_id: SegmentId) -> RefreshOut:
    with write(runtime_of(request).engine) as conn:
        segment = store.get_segment(conn, caller.workspace_id, segment_id)
        changes = membership.refresh(conn, caller.workspace_id, clock.now(), _timezone(conn, caller.workspace_id),
                                     [segment_id])
        entered, exited = changes.get(segment_id, (0, 0))
        size = store.get_segment(conn, caller.workspace_id, segment_id)["size"]
        return RefreshOut(segment_id=segment["id"], entered=entered, exited=exited, size=size)


@router.get("/{segment_id}/members", response_model=MembersOut, summary="Member profile ids, by id, paged")
def members(request: Request, caller: Reader, segment_id: SegmentId,
            after: Annotated[int, Query(ge=0, le=2**62)] = 0,
            limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> MembersOut:
    with read(runtime_of(request).engine) as conn:
        store.get_segment(conn, caller.workspace_id, segment_id)
        ids = store.member_ids(conn, caller.workspace_id, segment_id, after=after, limit=limit)
        return MembersOut(profile_ids=ids, next_after=ids[-1] if len(ids) == limit else None)


@router.get("/{segment_id}/sizes", response_model=list[SizeOut], summary="Size per day (membership history)")
def sizes(request: Request, caller: Reader, segment_id: SegmentId, fmt: Format = ExportFormat.JSON) -> Any:
    with read(runtime_of(request).engine) as conn:
        store.get_segment(conn, caller.workspace_id, segment_id)
        history = [SizeOut(**row) for row in store.size_history(conn, caller.workspace_id, segment_id)]
    if fmt is ExportFormat.JSON:
        return history
    table = ReportTable(SIZE_COLUMNS, [tuple(getattr(row, column) for column in SIZE_COLUMNS) for row in history])
    return file_response(table, fmt, "sizes", f"segment-{segment_id}-sizes")
