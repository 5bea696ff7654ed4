"""Management API for imports: upload a file, follow its counts, download its error report."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from siyu.api.auth import require, runtime_of
from siyu.db.engine import read
from siyu.imports import store
from siyu.imports.errors import ImportError_, ImportNotFound
from siyu.imports.presets import mapping_from_text, preset_for
from siyu.imports.runner import run_import
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/imports", tags=["imports"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.IMPORTS_WRITE))]
ImportId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
MAX_UPLOAD_BYTES = 2 * 1024**3


class ImportOut(BaseModel):
    id: int
    kind: str
    filename: str
    preset: str
    status: str
    rows_total: int
    rows_ok: int
    rows_duplicate: int
    rows_failed: int
    has_errors: bool
    errors_url: str | None  # the error report (CSV), when rows failed
    created_at: datetime
    finished_at: datetime | None


def _out(row: dict) -> ImportOut:  # type: ignore[type-arg]
    failed = bool(row["error_report"])
    return ImportOut(**{k: row[k] for k in ImportOut.model_fields if k in row}, has_errors=failed,
                     errors_url=f"/api/imports/{row['id']}/errors" if failed else None)


@router.post("", response_model=ImportOut, status_code=201, summary="Upload and import a CSV or XLSX file")
async def upload(request: Request, caller: Writer, file: Annotated[UploadFile, File()],
                 kind: Annotated[Literal["customers", "orders"], Form()],
                 preset: Annotated[str, Form(max_length=32)] = "siyu",
                 mapping: Annotated[str | None, Form(max_length=20000)] = None) -> ImportOut:
    chosen = mapping_from_text(mapping, kind) if mapping else preset_for(kind, preset)
    runtime = runtime_of(request)
    name = Path(file.filename or "upload.csv").name[:200]
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".txt"):
        raise ImportError_("Only .csv and .xlsx files can be imported.", code="imports.bad_file")
    folder = runtime.config.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=suffix, delete=False) as target:
        shutil.copyfileobj(file.file, target, length=1 << 20)
        size = target.tell()
    path = Path(target.name)
    try:
        if size > MAX_UPLOAD_BYTES:
            raise ImportError_("The file is larger than 2 GB.", code="imports.too_large", status=413)
        outcome = await run_in_threadpool(run_import, runtime, caller.workspace_id, path, chosen, filename=name)
    finally:
        path.unlink(missing_ok=True)
    with read(runtime.engine) as conn:
        return _out(store.get_import(conn, caller.workspace_id, outcome.import_id))


@router.get("", response_model=list[ImportOut], summary="Recent imports")
def list_imports(request: Request, caller: Reader) -> list[ImportOut]:
    with read(runtime_of(request).engine) as conn:
        return [_out(r) for r in store.list_imports(conn, caller.workspace_id)]


@router.get("/{import_id}", response_model=ImportOut, summary="One import and its counts")
def get_import(request: Request, caller: Reader, import_id: ImportId) -> ImportOut:
    with read(runtime_of(request).engine) as conn:
        return _out(store.get_import(conn, caller.workspace_id, import_id))


@router.get("/{import_id}/errors", summary="The rows that failed, with the reason (CSV)",
            response_class=FileResponse)
def errors(request: Request, caller: Reader, import_id: ImportId) -> FileResponse:
    with read(runtime_of(request).engine) as conn:
        row = store.get_import(conn, caller.workspace_id, import_id)
    if not row["error_report"] or not Path(row["error_report"]).is_file():
        raise ImportNotFound("This import has no failed rows.", code="imports.no_errors")
    return FileResponse(row["error_report"], media_type="text/csv; charset=utf-8",
                        filename=f"import-{import_id}-errors.csv")
