"""Retention cohorts: from the store's counts to the table the API, the CLI and the console show.

Definitions (the calendar variant of PostHog's and Amplitude's retention; see docs/reports.md):

* A person's **cohort** is the period (day, Monday week or calendar month, in the workspace's time
  zone) of their first event of their own — ``profiles.first_seen_at`` — for people first seen in the range.
* **Period N** of a cohort is the N-th period after the cohort's own (period 0 is the cohort's).
* **Returned on period N** (Amplitude's "Return On", PostHog's default): the person did the
  returning event during period N — by default any event of their own, not one siyu wrote about
  them (``system_events.SYSTEM_EVENTS``); a chosen event counts whatever it is. The rate divides
  by the cohort's size.
* **Returned on or after period N** (Amplitude's "Return On or After" — unbounded —, PostHog's
  cumulative): the person did it in period N or any later period observed. A person whose last
  return is in period L counts in every N <= L, so this curve never rises.
* Only periods that have begun are shown; one still running (or cut by the range's end) is
  ``incomplete`` — its figures can still grow, as Amplitude's asterisk says.
* The total row is the weighted average over the cohorts that have reached each period (Amplitude's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from siyu.analytics.reports.calendar import day_number, midnight_ms, period_index, period_label, period_start
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import RetentionQuery

Key = tuple[int, str | None]  # (cohort period index, breakdown value or None)


@dataclass(frozen=True)
class RetentionCounts:
    """What the store counts: people per cohort, returns per period offset, and last return offsets."""

    people: dict[Key, int]
    returned: dict[tuple[int, str | None, int], int]  # (cohort, breakdown, N) -> people who returned in N
    last_return: dict[tuple[int, str | None, int], int]  # (cohort, breakdown, L) -> people whose last return is L


@dataclass(frozen=True)
class RetentionCell:
    period: int
    returned: int
    rate: float | None
    on_or_after: int
    on_or_after_rate: float | None
    incomplete: bool


@dataclass(frozen=True)
class RetentionRow:
    cohort: str
    breakdown: str | None
    people: int
    cells: tuple[RetentionCell, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "breakdown": self.breakdown,
            "people": self.people,
            "returned": [c.returned for c in self.cells],
            "rate": [c.rate for c in self.cells],
            "on_or_after": [c.on_or_after for c in self.cells],
            "on_or_after_rate": [c.on_or_after_rate for c in self.cells],
            "incomplete": [c.incomplete for c in self.cells],
        }


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class RetentionReport:
    query: RetentionQuery
    rows: tuple[RetentionRow, ...]
    total: RetentionRow

    def as_dict(self) -> dict[str, Any]:
        periods = max((len(r.cells) for r in self.rows), default=0)
        return {
            "periods": list(range(periods)),
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
        }

    def table(self) -> ReportTable:
        columns = (
            "cohort",
            "breakdown",
            "people",
            "period",
            "returned",
            "rate",
            "on_or_after",
            "on_or_after_rate",
            "incomplete",
        )
        rows = [
            (
                row.cohort,
                row.breakdown,
                row.people,
                c.period,
                c.returned,
                c.rate,
                c.on_or_after,
                c.on_or_after_rate,
                c.incomplete,
            )
            for row in (*self.rows, self.total)
            for c in row.cells
        ]
        return ReportTable(columns, rows)

    def display(self) -> ReportTable:
        """Cohorts down, periods across, "returned on" rates in per cent: the triangle people read."""
        periods = max((len(r.cells) for r in self.rows), default=0)
        columns = ("cohort", "breakdown", "people", *(f"P{n}" for n in range(periods)))
        rows = []
        for row in (*self.rows, self.total):
            cells = [f"{c.rate:.1%}" + ("*" if c.incomplete else "") if c.rate is not None else "" for c in row.cells]
            rows.append((row.cohort, row.breakdown or "", row.people, *cells, *[""] * (periods - len(cells))))
        return ReportTable(columns, rows)


def build_retention(query: RetentionQuery, counts: RetentionCounts, zone: ZoneInfo, now_ms: int) -> RetentionReport:
    period = query.period
    last_period = period_index(day_number(query.range.last), period)
    observed_until = min(query.range.end_ms(zone), now_ms)

    def begins_ms(index: int) -> int:
        return midnight_ms(period_start(index, period), zone)

    # on_or_after[N] = people whose last return is at N or later: a suffix sum over last_return.
    last_by_key: dict[Key, dict[int, int]] = defaultdict(dict)
    for (cohort, breakdown, offset), people in counts.last_return.items():
        last_by_key[(cohort, breakdown)][offset] = people
    rows = []
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # N -> [people, returned, on_or_after]
    total_incomplete: dict[int, bool] = defaultdict(bool)
    for (cohort, breakdown), people in sorted(counts.people.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        lasts = last_by_key[(cohort, breakdown)]
        cells = []
        for offset in range(last_period - cohort + 1):
            index = cohort + offset
            if begins_ms(index) >= observed_until:
                break
            returned = counts.returned.get((cohort, breakdown, offset), 0)
            after = sum(n for last, n in lasts.items() if last >= offset)
            incomplete = begins_ms(index + 1) > observed_until
            cells.append(
                RetentionCell(offset, returned, rate(returned, people), after, rate(after, people), incomplete)
            )
            sums = totals[offset]
            sums[0] += people
            sums[1] += returned
            sums[2] += after
            total_incomplete[offset] |= incomplete
        rows.append(RetentionRow(period_label(cohort, period), breakdown, people, tuple(cells)))
    total_cells = tuple(
        RetentionCell(n, returned, rate(returned, reached), after, rate(after, reached), total_incomplete[n])
        for n, (reached, returned, after) in sorted(totals.items())
    )
    return RetentionReport(query, tuple(rows), RetentionRow("all", None, sum(counts.people.values()), total_cells))
