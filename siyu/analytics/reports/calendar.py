"""Local time for reports: days, weeks and months cut in the workspace's time zone.

The mirror keeps timestamps as epoch milliseconds (UTC). An instant's local day is
``(timestamp + offset) // 86_400_000``, the offset being the zone's UTC offset at that instant; a
report reads a bounded span of time, so the offset is a ``CASE`` over the few daylight-saving
transitions inside it (none at all for Asia/Shanghai). Days are numbered from 1970-01-01; weeks
start on Monday (ISO 8601, and the Chinese calendar week); months are calendar months. DuckDB's
``//`` truncates toward zero, Python's floors: the two agree because reports only accept dates
from 1970 on, where every local millisecond count is positive.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import assert_never
from zoneinfo import ZoneInfo

EPOCH = date(1970, 1, 1)
DAY_MS = 86_400_000
_SCAN_STEP_MS = 12 * 3_600_000  # no real zone has two offset changes within 12 hours


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def day_number(day: date) -> int:
    return (day - EPOCH).days


def date_of(day: int) -> date:
    return EPOCH + timedelta(days=day)


def period_index(day: int, period: Period) -> int:
    """The period holding local day ``day``: days since 1970-01-01, Monday weeks, or year * 12 + month - 1."""
    match period:
        case Period.DAY:
            return day
        case Period.WEEK:
            return (day + 3) // 7  # 1970-01-01 was a Thursday: week 0 started on Monday 1969-12-29
        case Period.MONTH:
            local = date_of(day)
            return local.year * 12 + local.month - 1
        case _:
            assert_never(period)


def period_start(index: int, period: Period) -> date:
    match period:
        case Period.DAY:
            return date_of(index)
        case Period.WEEK:
            return date_of(index * 7 - 3)
        case Period.MONTH:
            return date(index // 12, index % 12 + 1, 1)
        case _:
            assert_never(period)


def period_label(index: int, period: Period) -> str:
    """``2024-03-04`` for a day or the Monday of a week, ``2024-03`` for a month."""
    start = period_start(index, period)
    return start.isoformat()[:7] if period is Period.MONTH else start.isoformat()


def period_index_sql(day_sql: str, period: Period) -> str:
    """The SQL twin of :func:`period_index` over an expression holding a local day number."""
    match period:
        case Period.DAY:
            return f"({day_sql})"
        case Period.WEEK:
            return f"(({day_sql}) + 3) // 7"
        case Period.MONTH:
            local = f"(DATE '1970-01-01' + CAST({day_sql} AS INTEGER))"
            return f"(year({local}) * 12 + month({local}) - 1)"
        case _:
            assert_never(period)


def midnight_ms(day: date, zone: ZoneInfo) -> int:
    """The UTC instant (epoch ms) at which local ``day`` begins."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def _offset_ms(zone: ZoneInfo, at_ms: int) -> int:
    offset = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds() * 1000) if offset is not None else 0


def utc_offsets(zone: ZoneInfo, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """``[(since_ms, offset_ms), ...]``: the zone's UTC offset from each instant on, over the span.

    The first entry's ``since_ms`` is ``start_ms``; a transition is located to the second by
    bisection (transitions fall on whole seconds).
    """
    offsets = [(start_ms, _offset_ms(zone, start_ms))]
    cursor = start_ms
    while cursor < end_ms:
        following = min(cursor + _SCAN_STEP_MS, end_ms)
        if _offset_ms(zone, following) != offsets[-1][1]:
            low, high = cursor // 1000, -(-following // 1000)
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_ms(zone, middle * 1000) == offsets[-1][1]:
                    low = middle
                else:
                    high = middle
            offsets.append((high * 1000, _offset_ms(zone, high * 1000)))
        cursor = following
    return offsets


def local_day_sql(column: str, zone: ZoneInfo, start_ms: int, end_ms: int) -> str:
    """SQL for the local day number of ``column`` (epoch ms), exact for instants in ``[start_ms, end_ms]``.

    Instants outside the span get the offset of the nearest end: reports only bucket events inside it.
    """
    offsets = utc_offsets(zone, start_ms, end_ms)
    if len(offsets) == 1:
        shifted = f"{column} + {offsets[0][1]}"
    else:
        cases = " ".join(f"WHEN {column} < {since} THEN {offsets[i][1]}" for i, (since, _) in enumerate(offsets[1:]))
        shifted = f"{column} + CASE {cases} ELSE {offsets[-1][1]} END"
    return f"(({shifted}) // {DAY_MS})"


def local_day(at_ms: int, zone: ZoneInfo) -> int:
    """The Python twin of :func:`local_day_sql`."""
    return (at_ms + _offset_ms(zone, at_ms)) // DAY_MS
