"""The holiday calendar for date gifts: Chinese festivals, shopping festivals and a workspace's own
dates, each as the Gregorian day it falls on in a given year. Pure: no database, no clock.

Chinese festivals follow the lunar calendar (Spring Festival is the first day of the first lunar
month, Mid-Autumn the fifteenth of the eighth…), so their Gregorian dates move every year; the
conversion comes from the ``lunardate`` library (tables for 1900–2099). Qingming is a solar term,
not a lunar date: it is computed with the usual 21st-century formula ``[Y·0.2422 + 4.81] − [Y/4]``
(April 4 or 5), checked in tests against a table for 2024–2035.

A workspace adds its own dates in its settings (``calendar.dates``): ``"MM-DD"`` for every year or
``"YYYY-MM-DD"`` for one year only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from lunardate import LunarDate

FIRST_YEAR, LAST_YEAR = 1901, 2098  # where the lunar tables are sure to hold both ends of a year


@dataclass(frozen=True)
class Holiday:
    name: str  # stable id used in journey definitions: spring_festival, double_11…
    zh: str
    en: str
    kind: str  # lunar | solar | term | custom
    month: int = 0
    day: int = 0


HOLIDAYS: dict[str, Holiday] = {h.name: h for h in (
    Holiday("spring_festival", "春节", "Spring Festival", "lunar", 1, 1),
    Holiday("lantern", "元宵节", "Lantern Festival", "lunar", 1, 15),
    Holiday("qingming", "清明节", "Qingming Festival", "term"),
    Holiday("dragon_boat", "端午节", "Dragon Boat Festival", "lunar", 5, 5),
    Holiday("qixi", "七夕", "Qixi Festival", "lunar", 7, 7),
    Holiday("mid_autumn", "中秋节", "Mid-Autumn Festival", "lunar", 8, 15),
    Holiday("double_ninth", "重阳节", "Double Ninth Festival", "lunar", 9, 9),
    Holiday("new_years_eve", "除夕", "Chinese New Year's Eve", "lunar", 0, 0),  # the day before Spring Festival
    Holiday("new_year", "元旦", "New Year's Day", "solar", 1, 1),
    Holiday("valentines", "情人节", "Valentine's Day", "solar", 2, 14),
    Holiday("goddess_day", "三八女神节", "Goddess Day (8 March)", "solar", 3, 8),
    Holiday("520", "520 告白日", "520 (\"I love you\" day)", "solar", 5, 20),
    Holiday("618", "618 年中大促", "618 mid-year sale", "solar", 6, 18),
    Holiday("national_day", "国庆节", "National Day", "solar", 10, 1),
    Holiday("double_11", "双十一", "Double 11 (Singles' Day)", "solar", 11, 11),
    Holiday("double_12", "双十二", "Double 12", "solar", 12, 12),
    Holiday("christmas", "圣诞节", "Christmas", "solar", 12, 25),
)}

_CUSTOM = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")


class UnknownHoliday(ValueError):
    pass


def qingming(year: int) -> date:
    """Qingming (the solar term at the sun's longitude 15°), valid for 2001–2099."""
    y = year % 100
    return date(year, 4, int(y * 0.2422 + 4.81) - y // 4)


def holiday_date(name: str, year: int, custom: Mapping[str, Any] | None = None) -> date | None:
    """The Gregorian day ``name`` falls on in ``year``; None when it does not fall in that year (a
    one-year custom date of another year, or a year outside the lunar tables). Raises
    UnknownHoliday for a name neither built in nor among the workspace's ``custom`` dates."""
    holiday = HOLIDAYS.get(name)
    if holiday is None:
        raw = (custom or {}).get(name)
        return _custom_date(name, raw, year)
    if holiday.kind == "solar":
        return date(year, holiday.month, holiday.day)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    if holiday.kind == "term":
        return qingming(year)
    if holiday.name == "new_years_eve":
        return LunarDate(year, 1, 1).to_solar_date() - timedelta(days=1)  # always in January or February
    return LunarDate(year, holiday.month, holiday.day).to_solar_date()


def _custom_date(name: str, raw: Any, year: int) -> date | None:
    text = raw.get("date") if isinstance(raw, dict) else raw
    match = _CUSTOM.match(text) if isinstance(text, str) else None
    if match is None:
        raise UnknownHoliday(f"unknown holiday {name!r}: not one of {', '.join(HOLIDAYS)} nor a date "
                             "in the workspace's calendar.dates")
    if match.group(1) and int(match.group(1)) != year:
        return None
    try:
        return date(year, int(match.group(2)), int(match.group(3)))
    except ValueError:  # 29 February of a non-leap year: the day before, as for birthdays
        return date(year, 2, 28) if (match.group(2), match.group(3)) == ("02", "29") else None


def check_custom(raw: Any) -> None:
    """Refuse a malformed ``calendar.dates`` mapping (names to ``MM-DD`` or ``YYYY-MM-DD``)."""
    if not isinstance(raw, dict):
        raise ValueError("calendar.dates: expected an object of names to \"MM-DD\" or \"YYYY-MM-DD\"")
    for name, value in raw.items():
        if name in HOLIDAYS:
            raise ValueError(f"calendar.dates.{name}: a built-in holiday cannot be redefined")
        _custom_date(name, value, 2028)


def is_fire_day(name: str, day: date, offset_days: int, custom: Mapping[str, Any] | None = None) -> bool:
    """Whether a trigger ``offset_days`` from holiday ``name`` fires on ``day`` (−3: three days before).
    The holiday's year is the year of ``day − offset`` (a Spring Festival warm-up in late January
    belongs to that year's festival)."""
    target = day - timedelta(days=offset_days)
    return holiday_date(name, target.year, custom) == target


def upcoming(year: int, custom: Mapping[str, Any] | None = None) -> list[tuple[str, date]]:
    """Every holiday's day in ``year``, in date order (for the console and ``siyu journeys holidays``)."""
    names = list(HOLIDAYS) + [n for n in (custom or {}) if n not in HOLIDAYS]
    found = [(n, d) for n in names if (d := holiday_date(n, year, custom)) is not None]
    return sorted(found, key=lambda pair: (pair[1], pair[0]))
