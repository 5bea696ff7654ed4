"""Active people: DAU, WAU and MAU for each day, and stickiness (DAU / MAU).

* **DAU** of a day: people with at least one event of their own (or the chosen event) that local day —
  the events siyu writes about a person (``system_events.SYSTEM_EVENTS``: segment entries, tags,
  consent and trait edits) are not activity unless chosen.
* **WAU**: people active on any of the 7 days ending that day (the day and the 6 before) — rolling.
* **MAU**: people active on any of the 30 days ending that day — rolling 30 days, as PostHog's and
  Amplitude's monthly actives; not the calendar month.
* **Stickiness**: DAU / MAU of the same day; the average over the range is mean DAU / mean MAU.

The store does not count distinct people per window directly (a 30-wide range join). Each (person,
active day) adds +1 to the windows it opens and -1 where they close; a person active on days ``a``
after ``p`` opens the window ``[max(a, p + W), a + W)`` — the part not already covered by day ``p``'s —
so a running sum over days counts each person once per window. :func:`rolling_active` adds them up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from siyu.analytics.reports.calendar import date_of, day_number
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import ActivityQuery

WIDTHS = {"dau": 1, "wau": 7, "mau": 30}


def rolling_active(deltas: Iterable[tuple[int, int]], first: int, last: int) -> list[int]:
    """Running sum of ``(day, delta)`` changes, read on each day from ``first`` to ``last``."""
    changes: dict[int, int] = {}
    for day, delta in deltas:
        changes[day] = changes.get(day, 0) + delta
    running, values = sum(delta for day, delta in changes.items() if day < first), []
    for day in range(first, last + 1):
        running += changes.get(day, 0)
        values.append(running)
    return values


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class ActivityDay:
    day: date
    dau: int
    wau: int
    mau: int

    @property
    def stickiness(self) -> float | None:
        return rate(self.dau, self.mau)


@dataclass(frozen=True)
class ActivityReport:
    query: ActivityQuery
    days: tuple[ActivityDay, ...]

    def average(self) -> dict[str, float | None]:
        count = len(self.days)
        sums = {key: sum(getattr(d, key) for d in self.days) for key in WIDTHS}
        means: dict[str, float | None] = {key: round(total / count, 2) if count else 0.0 for key, total in sums.items()}
        return {**means, "stickiness": rate(sums["dau"], sums["mau"])}  # mean DAU / mean MAU

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows": {"wau_days": WIDTHS["wau"], "mau_days": WIDTHS["mau"]},
            "days": [
                {"day": d.day.isoformat(), "dau": d.dau, "wau": d.wau, "mau": d.mau, "stickiness": d.stickiness}
                for d in self.days
            ],
            "average": self.average(),
        }

    def table(self) -> ReportTable:
        return ReportTable(
            ("day", "dau", "wau", "mau", "stickiness"),
            [(d.day.isoformat(), d.dau, d.wau, d.mau, d.stickiness) for d in self.days],
        )

    def display(self) -> ReportTable:
        rows: list[tuple[Any, ...]] = [
            (d.day.isoformat(), d.dau, d.wau, d.mau, "" if d.stickiness is None else f"{d.stickiness:.1%}")
            for d in self.days
        ]
        average = self.average()
        stickiness = average["stickiness"]
        rows.append(
            (
                "average",
                average["dau"],
                average["wau"],
                average["mau"],
                "" if stickiness is None else f"{stickiness:.1%}",
            )
        )
        return ReportTable(("day", "DAU", "WAU (7 d)", "MAU (30 d)", "DAU/MAU"), rows)


def build_activity(query: ActivityQuery, deltas: dict[str, list[tuple[int, int]]]) -> ActivityReport:
    first, last = day_number(query.range.first), day_number(query.range.last)
    series = {key: rolling_active(deltas.get(key, []), first, last) for key in WIDTHS}
    days = tuple(
        ActivityDay(date_of(first + i), series["dau"][i], series["wau"][i], series["mau"][i])
        for i in range(last - first + 1)
    )
    return ActivityReport(query, days)
