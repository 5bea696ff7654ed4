"""Days, weeks and months in the workspace's time zone: the Python rules and their SQL twins agree."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from siyu.analytics.reports.calendar import (
    BLOCK_MS,
    DAY_MS,
    Period,
    day_number,
    days_run_forward,
    floor_div_sql,
    local_day,
    local_day_sql,
    midnight_ms,
    offset_blocks,
    period_index,
    period_index_sql,
    period_label,
    period_start,
    utc_offsets,
)

NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


def test_shanghai_has_one_offset_and_new_york_changes_twice_a_year() -> None:
    assert utc_offsets(SHANGHAI, ms("2024-01-01T00:00:00+08:00"), ms("2025-01-01T00:00:00+08:00")) == [
        (ms("2024-01-01T00:00:00+08:00"), 8 * 3_600_000)
    ]
    offsets = utc_offsets(NEW_YORK, ms("2024-01-01T00:00:00-05:00"), ms("2025-01-01T00:00:00-05:00"))
    # 2024-03-10 02:00 EST -> EDT and 2024-11-03 02:00 EDT -> EST, to the second.
    assert offsets[1:] == [
        (ms("2024-03-10T07:00:00+00:00"), -4 * 3_600_000),
        (ms("2024-11-03T06:00:00+00:00"), -5 * 3_600_000),
    ]


@pytest.mark.parametrize("zone", [SHANGHAI, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC")])
def test_the_sql_local_day_equals_the_python_one_across_transitions(zone: ZoneInfo) -> None:
    start, end = ms("2023-12-25T00:00:00+00:00"), ms("2025-01-05T00:00:00+00:00")
    rng = random.Random(3)
    instants = [rng.randrange(start, end) for _ in range(3000)]
    instants += [since + delta for since, _ in utc_offsets(zone, start, end) for delta in (-1, 0, 1)]
    sql = local_day_sql("t", zone, start, end)
    for period in Period:
        rows = duckdb.sql(f"SELECT t, {period_index_sql(sql, period)} FROM unnest({instants}) AS u(t)").fetchall()
        assert {t: got for t, got in rows} == {t: period_index(local_day(t, zone), period) for t in instants}


def test_local_midnight_begins_the_local_day() -> None:
    for zone in (SHANGHAI, NEW_YORK):
        for day in (date(2024, 3, 10), date(2024, 3, 11), date(2024, 11, 3), date(2024, 2, 29)):
            begins = midnight_ms(day, zone)
            assert local_day(begins, zone) == day_number(day) and local_day(begins - 1, zone) == day_number(day) - 1
    assert midnight_ms(date(2024, 3, 11), NEW_YORK) - midnight_ms(date(2024, 3, 10), NEW_YORK) == DAY_MS - 3_600_000


def test_weeks_start_on_monday_and_months_are_calendar_months() -> None:
    wednesday = day_number(date(2024, 3, 20))
    assert period_start(period_index(wednesday, Period.WEEK), Period.WEEK) == date(2024, 3, 18)
    assert period_index(day_number(date(2024, 3, 17)), Period.WEEK) == period_index(wednesday, Period.WEEK) - 1
    assert period_label(period_index(wednesday, Period.MONTH), Period.MONTH) == "2024-03"
    assert period_label(period_index(wednesday, Period.DAY), Period.DAY) == "2024-03-20"
    assert period_index(day_number(date(2024, 1, 31)), Period.MONTH) + 1 == period_index(
        day_number(date(2024, 2, 1)), Period.MONTH
    )


ZONES = [SHANGHAI, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Europe/London"), ZoneInfo("America/St_Johns")]


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_offset_blocks_give_every_instant_its_local_day_around_each_transition(zone: ZoneInfo) -> None:
    # From 1950 (instants before 1970 included: imported history can predate it) to 2030.
    start, end = ms("1950-01-01T00:00:00+00:00"), ms("2030-01-01T00:00:00+00:00")
    rng = random.Random(4)
    instants = [rng.randrange(start, end) for _ in range(2000)]
    instants += [since + delta for since, _ in utc_offsets(zone, start, end)[1:] for delta in (-1001, -1, 0, 1, 999)]
    table = {block: rest for block, *rest in offset_blocks(zone, {t // BLOCK_MS for t in instants})}
    for instant in instants:
        switch, before, after = table[instant // BLOCK_MS]
        assert (instant + (before if instant < switch else after)) // DAY_MS == local_day(instant, zone), instant


def test_floor_division_in_duckdb_rounds_down_as_python_does() -> None:
    values = [-DAY_MS - 1, -DAY_MS, -1, 0, 1, DAY_MS - 1, DAY_MS, 1_710_000_000_123, -2_000_000_000_000]
    rows = duckdb.sql(f"SELECT x, {floor_div_sql('x', DAY_MS)} FROM unnest({values}::BIGINT[]) AS u(x)").fetchall()
    assert {x: got for x, got in rows} == {x: x // DAY_MS for x in values}


def test_days_run_forward_except_where_a_clock_went_back_across_midnight() -> None:
    def blocks(first: str, last: str) -> range:
        return range(ms(first) // BLOCK_MS, ms(last) // BLOCK_MS)

    assert days_run_forward(NEW_YORK, blocks("2024-01-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"))
    assert days_run_forward(SHANGHAI, blocks("1985-01-01T00:00:00+00:00", "1993-01-01T00:00:00+00:00"))
    st_johns = ZoneInfo("America/St_Johns")  # changed at 00:01 local until 2011
    assert not days_run_forward(st_johns, blocks("2005-10-29T12:00:00+00:00", "2005-10-30T12:00:00+00:00"))
    assert days_run_forward(st_johns, blocks("2015-01-01T00:00:00+00:00", "2016-01-01T00:00:00+00:00"))
    # An instant just after the change, in the block after it, is enough to notice it.
    assert not days_run_forward(st_johns, [ms("2005-10-30T12:30:00+00:00") // BLOCK_MS])
