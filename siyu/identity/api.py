"""Management API for the identity graph's audit trail: merges of a profile, refused links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from siyu.api.auth import require, runtime_of
from siyu.db.engine import read
from siyu.identity import store
from siyu.profiles import read_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api", tags=["identity"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]


class MergeOut(BaseModel):
    id: int
    from_profile_id: int
    into_profile_id: int
    identities: list[dict[str, Any]]
    message_id: str | None
    reason: str
    actor: str | None
    created_at: datetime


class ConflictOut(BaseModel):
    id: int
    message_id: str | None
    identifier_type: str
    identifier_value: str
    profile_ids: list[int]
    rule: str
    detail: str
    created_at: datetime


@router.get("/profiles/{profile_id}/merges", response_model=list[MergeOut],
            summary="Every merge into or out of a profile: which identifiers, which event, when, by whom")
def merges(request: Request, caller: Reader, profile_id: Annotated[int, Path(ge=1, le=2**62)]) -> list[MergeOut]:
    with read(runtime_of(request).engine) as conn:
        live_id = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        return [MergeOut(**m) for m in store.merges_of(conn, caller.workspace_id, live_id)]


@router.get("/identity/conflicts", response_model=list[ConflictOut],
            summary="Links the identity rules refused (shared devices, family phones), newest first")
def conflicts(request: Request, caller: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100,
              before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> list[ConflictOut]:
    with read(runtime_of(request).engine) as conn:
        return [ConflictOut(**c) for c in store.recent_conflicts(conn, caller.workspace_id, limit=limit,
                                                                 before_id=before)]


class ResolutionStatusOut(BaseModel):
    mode: str
    queued: int


@router.get("/ingest/status", response_model=ResolutionStatusOut,
            summary="Acknowledged events still waiting for identity resolution (deferred mode)")
def ingest_status(request: Request, caller: Reader) -> ResolutionStatusOut:
    from siyu.ingest import store as ingest_store

    runtime = runtime_of(request)
    with read(runtime.engine) as conn:
        queued = ingest_store.queued_count(conn, caller.workspace_id)
    return ResolutionStatusOut(mode=runtime.config.ingest_resolve, queued=queued)
