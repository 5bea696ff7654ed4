"""Management API for the built-in scores: compute them, read (or download) the RFM grid and lifecycle stages,
and the top KOCs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from siyu import clock
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import ExportFormat
from siyu.analytics.reports_api import file_response
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.segments import score_store, scoring
from siyu.segments.scores import rfm_segment
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/scores", tags=["scores"])
# ``?format=csv|xlsx`` downloads the grid or the stages, as the reports do (siyu.analytics.reports.export).
Format = Annotated[ExportFormat, Query(alias="format", description="json (default), csv or xlsx.")]
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]


@router.post("/compute", summary="Compute RFM, lifecycle stages and KOC scores for everyone now")
def compute(request: Request, caller: Manager) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        settings = workspace_store.get_workspace(conn, caller.workspace_id).settings
        return scoring.compute_all(conn, caller.workspace_id, clock.now(), settings)


@router.get("/rfm", summary="RFM grid (recency × frequency) and named RFM segments")
def rfm(request: Request, caller: Reader, fmt: Format = ExportFormat.JSON) -> Any:
    with read(runtime_of(request).engine) as conn:
        report = scoring.rfm_report(conn, caller.workspace_id)
    if fmt is ExportFormat.JSON:
        return report
    return file_response(rfm_table(report["grid"]), fmt, "rfm", "rfm-grid")


@router.get("/lifecycle", summary="Customers per lifecycle stage and the thresholds in use")
def lifecycle(request: Request, caller: Reader, fmt: Format = ExportFormat.JSON) -> Any:
    with read(runtime_of(request).engine) as conn:
        settings = workspace_store.get_workspace(conn, caller.workspace_id).settings
        report = scoring.lifecycle_report(conn, caller.workspace_id, settings)
    if fmt is ExportFormat.JSON:
        return report
    return file_response(lifecycle_table(report), fmt, "lifecycle", "lifecycle-stages")


def rfm_table(grid: list[dict[str, Any]]) -> ReportTable:
    """All 25 cells of the grid (empty ones as 0 customers), each with the RFM segment it belongs to."""
    cells = {(cell["r"], cell["f"]): cell for cell in grid}
    rows = []
    for r in range(1, 6):
        for f in range(1, 6):
            cell = cells.get((r, f), {"customers": 0, "average_spend": None})
            spend = cell["average_spend"]
            rows.append((r, f, rfm_segment(r, f), cell["customers"], None if spend is None else round(spend, 2)))
    return ReportTable(("recency_score", "frequency_score", "segment", "customers", "average_spend"), rows)


def lifecycle_table(report: dict[str, Any]) -> ReportTable:
    """One row per stage, with the thresholds that defined the stages on every row."""
    active, churned = report["thresholds"]["active_days"], report["thresholds"]["churned_days"]
    return ReportTable(("stage", "customers", "active_days", "churned_days"),
                       [(s["stage"], s["customers"], active, churned) for s in report["stages"]])


@router.get("/koc", summary="Top KOCs (key opinion customers) by score")
def koc(request: Request, caller: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return score_store.top_kocs(conn, caller.workspace_id, limit)
