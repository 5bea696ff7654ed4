"""Streaming profile exports (CSV or XLSX) whose memory stays flat however many profiles there are.

Rows are read in keyset-paginated chunks and written as they come: CSV through the csv module,
XLSX through openpyxl's write-only mode (it streams rows to a temporary file instead of keeping
the workbook in memory).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Engine

from siyu.db.engine import read
from siyu.profiles.export_store import export_chunk

COLUMNS = ("id", "name", "phone", "email", "user_id", "member_id", "wechat_unionid", "first_channel",
           "last_channel", "first_seen_at", "last_seen_at", "order_count", "total_spend", "last_order_at", "tags")
CHUNK = 2000


def rows(engine: Engine, workspace_id: int) -> Iterator[list[Any]]:
    after = 0
    while True:
        with read(engine) as conn:
            chunk = export_chunk(conn, workspace_id, after=after, limit=CHUNK)
        if not chunk:
            return
        for item in chunk:
            yield [_cell(item.get(column)) for column in COLUMNS]
        after = chunk[-1]["id"]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def export_profiles(engine: Engine, workspace_id: int, path: Path, fmt: str) -> int:
    count = 0
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel opens Chinese correctly
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in rows(engine, workspace_id):
                writer.writerow(row)
                count += 1
        return count
    book = Workbook(write_only=True)
    sheet = book.create_sheet("profiles")
    sheet.append(list(COLUMNS))
    for row in rows(engine, workspace_id):
        sheet.append(row)
        count += 1
    book.save(path)
    return count
