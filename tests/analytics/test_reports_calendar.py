"""Days, weeks and months in the workspace's time zone: the Python rules and their SQL twins agree."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from siyu.analytics.reports.calendar import (
    DAY_MS,
    Period,
    day_number,
    local_day,
    local_day_sql,
    midnight_ms,
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
