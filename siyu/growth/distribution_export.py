"""The commission ledger as a file: CSV (UTF-8 with a byte-order mark, so Excel on a Chinese Windows
reads 张三 rather than mojibake) or XLSX (typed cells, one sheet). Amounts in yuan with two
decimals; instants in the workspace's time zone, as text both formats show alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from siyu.growth.distribution_errors import DistributionError
from siyu.growth.distribution_models import Commission


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = ("id", "written_at", "order_id", "promoter_id", "promoter", "level", "kind", "status", "amount_yuan",
           "order_amount_yuan", "buyer_profile_id", "ordered_at", "confirm_after", "confirmed_at", "paid_at",
           "reversed_at", "payout_id")


def period(since: date | None, until: date | None, timezone: str) -> tuple[datetime | None, datetime | None]:
    """Whole local days ``since`` … ``until`` (both included) as [start, end) instants."""
    if since is not None and until is not None and until < since:
        raise DistributionError("until is on or after since.", details={"since": str(since), "until": str(until)})
    zone = ZoneInfo(timezone)
    start = datetime.combine(since, time(), zone) if since is not None else None
    end = datetime.combine(until + timedelta(days=1), time(), zone) if until is not None else None
    return start, end


def _local(value: datetime | None, zone: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def rows(entries: Sequence[Commission], names: dict[int, str], timezone: str) -> list[list[Any]]:
    zone = ZoneInfo(timezone)
    return [[e.id, _local(e.created_at, zone), e.order_id, e.promoter_id, names.get(e.promoter_id, ""), e.level,
             e.kind.value, e.status.value, round(e.amount_fen / 100, 2), round(e.base_fen / 100, 2),
             e.buyer_profile_id, _local(e.ordered_at, zone), _local(e.confirm_after, zone),
             _local(e.confirmed_at, zone), _local(e.paid_at, zone), _local(e.reversed_at, zone), e.payout_id]
            for e in entries]


def to_csv(table: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(["" if value is None else value for value in row] for row in table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("commissions")
    sheet.append(list(COLUMNS))
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export(table: list[list[Any]], fmt: ExportFormat) -> bytes:
    return to_csv(table) if fmt is ExportFormat.CSV else to_xlsx(table)


def filename(fmt: ExportFormat, promoter_id: int | None, since: date | None, until: date | None) -> str:
    parts = ["commissions", f"promoter-{promoter_id}" if promoter_id else "", str(since or ""), str(until or "")]
    return "-".join(p for p in parts if p) + f".{fmt.value}"
