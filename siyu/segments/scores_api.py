"""Management API for the built-in scores: compute them, read the RFM grid, lifecycle stages and top KOCs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.segments import score_store, scoring
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/scores", tags=["scores"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]


@router.post("/compute", summary="Compute RFM, lifecycle stages and KOC scores for everyone now")
def compute(request: Request, caller: Manager) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        settings = workspace_store.get_workspace(conn, caller.workspace_id).settings
        return scoring.compute_all(conn, caller.workspace_id, clock.now(), settings)


@router.get("/rfm", summary="RFM grid (recency × frequency) and named RFM segments")
def rfm(request: Request, caller: Reader) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return scoring.rfm_report(conn, caller.workspace_id)


@router.get("/lifecycle", summary="Customers per lifecycle stage and the thresholds in use")
def lifecycle(request: Request, caller: Reader) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        settings = workspace_store.get_workspace(conn, caller.workspace_id).settings
        return scoring.lifecycle_report(conn, caller.workspace_id, settings)


@router.get("/koc", summary="Top KOCs (key opinion customers) by score")
def koc(request: Request, caller: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return score_store.top_kocs(conn, caller.workspace_id, limit)
