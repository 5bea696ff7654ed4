"""A report as a flat table, and that table as CSV or XLSX: what the console's export links and
``?format=csv|xlsx`` download, and what ``--format`` writes.

CSV is UTF-8 with a byte-order mark, so Excel on a Chinese Windows reads 小红书 rather than
mojibake; numbers are written as Python prints them (``0.4167``), never localised. XLSX cells keep
their types (integers, floats, text), one sheet named after the report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from siyu.analytics.reports.models import ExportFormat

MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ReportTable:
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Any]]


def to_csv(table: ReportTable) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(["" if value is None else value for value in row] for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: ReportTable, title: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])  # Excel's limit on sheet names
    sheet.append(list(table.columns))
    for row in table.rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export(table: ReportTable, fmt: ExportFormat, title: str) -> bytes:
    if fmt is ExportFormat.CSV:
        return to_csv(table)
    if fmt is ExportFormat.XLSX:
        return to_xlsx(table, title)
    raise ValueError(f"{fmt} is not a file format")
