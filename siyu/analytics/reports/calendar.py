"""Local time for reports: days, weeks and months cut in the workspace's time zone.

The mirror keeps timestamps as epoch milliseconds (UTC). An instant's local day is
``(timestamp + offset) // 86_400_000``, the offset being the zone's UTC offset at that instant; a
report reads a bounded span of time, so the offset is a ``CASE`` over the few daylight-saving
transitions inside it (none at all for Asia/Shanghai). Days are numbered from 1970-01-01; weeks
start on Monday (ISO 8601, and the Chinese calendar week); months are calendar months. DuckDB's
``//`` truncates toward zero, Python's floors: the two agree because reports only accept dates
from 1970 on, where every local millisecond count is positive.

The mirror's pre-aggregated tables store each event's local day once, for any instant the log
holds (imported history may predate 1970): :func:`offset_blocks` gives the offset per 12-hour block
of time, and :func:`floor_div_sql` floors in DuckDB as Python does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import assert_never
from zoneinfo import ZoneInfo

EPOCH = date(1970, 1, 1)
DAY_MS = 86_400_000
_SCAN_STEP_MS = 12 * 3_600_000  # no real zone has two offset changes within 12 hours
BLOCK_MS = _SCAN_STEP_MS


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


def _transition_second(zone: ZoneInfo, low: int, high: int) -> int:
    """The first whole second in ``(low, high]`` with ``high``'s offset, given one change in between."""
    before = _offset_ms(zone, low * 1000)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_ms(zone, middle * 1000) == before:
            low = middle
        else:
            high = middle
    return high


def offset_blocks(zone: ZoneInfo, blocks: Iterable[int]) -> list[tuple[int, int, int, int]]:
    """``(block, switch_ms, before_ms, after_ms)`` for each 12-hour block ``[block, block + 1) * BLOCK_MS``.

    Inside a block the zone's UTC offset is ``before_ms`` for instants before ``switch_ms`` and
    ``after_ms`` from it on; a block without a change has ``switch_ms`` at its end and equal
    offsets. So an instant's local day is ``floor((t + (t < switch ? before : after)) / DAY_MS)``,
    the same as :func:`local_day`, for any instant — the mirror's aggregates compute it once per
    event with this table joined on ``floor(t / BLOCK_MS)``. Transitions fall on whole seconds and
    at most one per block (as :func:`utc_offsets` assumes).
    """
    rows = []
    for block in blocks:
        start = block * BLOCK_MS
        end = start + BLOCK_MS
        before, after = _offset_ms(zone, start), _offset_ms(zone, end - 1000)
        switch = end if before == after else _transition_second(zone, start // 1000, end // 1000 - 1) * 1000
        rows.append((block, switch, before, after))
    return rows


def floor_div_sql(numerator: str, denominator: int) -> str:
    """DuckDB integer division rounding down, as Python's ``//`` (DuckDB's own truncates toward zero)."""
    return f"(({numerator}) // {denominator} - CASE WHEN ({numerator}) % {denominator} < 0 THEN 1 ELSE 0 END)"


def days_run_forward(zone: ZoneInfo, blocks: Iterable[int]) -> bool:
    """True when, around these 12-hour blocks, no instant falls on an earlier local day than the instant before it.

    A clock turned back across midnight breaks it — Newfoundland changed at 00:01 until 2011, so
    the hour after its autumn change was the previous day again. Where days run forward, an instant
    is at or after ``midnight_ms(d)`` exactly when its local day is ``d`` or later, so a range of
    whole days selects the same events by timestamp or by day; the mirror's aggregates rely on it.
    Each block is checked with the one before it: a change can move instants up to a few hours.
    """
    wanted = set(blocks)
    for block, switch, _, _ in offset_blocks(zone, wanted | {b - 1 for b in wanted}):
        start = block * BLOCK_MS
        for at in (start, switch) if switch < start + BLOCK_MS else (start,):
            if local_day(at - 1, zone) > local_day(at, zone):
                return False
    return True
