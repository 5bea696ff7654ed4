"""SQL of the ``imports`` table: one row per import, with its counts and error report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from siyu.db.tables import imports
from siyu.imports.errors import ImportNotFound


def create_import(conn: Connection, workspace_id: int, *, kind: str, filename: str, sha256: str, preset: str,
                  at: datetime) -> int:
    return conn.execute(imports.insert().values(workspace_id=workspace_id, kind=kind, filename=filename,
                                                file_sha256=sha256, preset=preset, status="running",
                                                created_at=at).returning(imports.c.id)).scalar_one()


def finish_import(conn: Connection, workspace_id: int, import_id: int, *, status: str, counts: dict[str, int],
                  error_report: str | None, at: datetime) -> None:
    conn.execute(update(imports).where(imports.c.workspace_id == workspace_id, imports.c.id == import_id).values(
        status=status, error_report=error_report, finished_at=at, **counts))


def get_import(conn: Connection, workspace_id: int, import_id: int) -> dict[str, Any]:
    row = conn.execute(select(imports).where(imports.c.workspace_id == workspace_id,
                                             imports.c.id == import_id)).one_or_none()
    if row is None:
        raise ImportNotFound(f"No import {import_id} in this workspace.")
    return dict(row._mapping)


def list_imports(conn: Connection, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(imports).where(imports.c.workspace_id == workspace_id)
                        .order_by(imports.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]
