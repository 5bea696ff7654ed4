"""The holiday calendar: lunar festivals move every year and come from the lunardate tables; the
table below (published Chinese calendars) checks the conversion and the Qingming formula."""

from __future__ import annotations

from datetime import date

import pytest

from siyu.journeys import calendar

# year: (Spring Festival, Lantern, Qingming, Dragon Boat, Qixi, Mid-Autumn)
KNOWN = {
    2024: ("02-10", "02-24", "04-04", "06-10", "08-10", "09-17"),
    2025: ("01-29", "02-12", "04-04", "05-31", "08-29", "10-06"),
    2026: ("02-17", "03-03", "04-05", "06-19", "08-19", "09-25"),
    2027: ("02-06", "02-20", "04-05", "06-09", "08-08", "09-15"),
    2028: ("01-26", "02-09", "04-04", "05-28", "08-26", "10-03"),
    2029: ("02-13", "02-27", "04-04", "06-16", "08-16", "09-22"),
    2030: ("02-03", "02-17", "04-05", "06-05", "08-05", "09-12"),
    2031: ("01-23", "02-06", "04-05", "06-24", "08-24", "10-01"),
    2032: ("02-11", "02-25", "04-04", "06-12", "08-12", "09-19"),
    2033: ("01-31", "02-14", "04-04", "06-01", "08-01", "09-08"),
    2034: ("02-19", "03-05", "04-05", "06-20", "08-20", "09-27"),
    2035: ("02-08", "02-22", "04-05", "06-10", "08-10", "09-16"),
}
NAMES = ("spring_festival", "lantern", "qingming", "dragon_boat", "qixi", "mid_autumn")


@pytest.mark.parametrize("year", sorted(KNOWN))
def test_chinese_festivals_fall_on_their_published_days(year: int) -> None:
    found = tuple(calendar.holiday_date(name, year).strftime("%m-%d") for name in NAMES)  # type: ignore[union-attr]
    assert found == KNOWN[year]


def test_new_years_eve_is_the_day_before_the_next_spring_festival() -> None:
    assert calendar.holiday_date("new_years_eve", 2027) == date(2027, 2, 5)
    assert calendar.holiday_date("new_years_eve", 2028) == date(2028, 1, 25)
    assert calendar.is_fire_day("new_years_eve", date(2027, 2, 5), 0)


def test_shopping_festivals_are_fixed_days() -> None:
    assert [calendar.holiday_date(n, 2027) for n in ("goddess_day", "520", "618", "double_11", "double_12")] == \
        [date(2027, 3, 8), date(2027, 5, 20), date(2027, 6, 18), date(2027, 11, 11), date(2027, 12, 12)]


def test_an_offset_belongs_to_the_year_of_the_holiday_it_leads_to() -> None:
    assert calendar.is_fire_day("spring_festival", date(2027, 2, 3), -3)
    assert not calendar.is_fire_day("spring_festival", date(2027, 2, 6), -3)
    assert calendar.is_fire_day("new_year", date(2026, 12, 29), -3)  # the warm-up is in the year before
    assert calendar.is_fire_day("double_11", date(2027, 11, 12), 1)


def test_workspace_dates_every_year_once_and_on_29_february() -> None:
    custom = {"brand_day": "09-09", "launch": "2027-03-15", "leap": {"date": "02-29"}}
    assert calendar.holiday_date("brand_day", 2030, custom) == date(2030, 9, 9)
    assert calendar.holiday_date("launch", 2027, custom) == date(2027, 3, 15)
    assert calendar.holiday_date("launch", 2028, custom) is None
    assert calendar.holiday_date("leap", 2027, custom) == date(2027, 2, 28)
    assert calendar.holiday_date("leap", 2028, custom) == date(2028, 2, 29)
    with pytest.raises(calendar.UnknownHoliday):
        calendar.holiday_date("nope", 2027, custom)
    with pytest.raises(ValueError):
        calendar.check_custom({"double_11": "11-12"})


def test_upcoming_lists_the_year_in_date_order() -> None:
    days = calendar.upcoming(2027, {"brand_day": "09-09"})
    assert [d for _, d in days] == sorted(d for _, d in days)
    assert ("brand_day", date(2027, 9, 9)) in days and ("spring_festival", date(2027, 2, 6)) in days
