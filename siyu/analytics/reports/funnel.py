"""Funnels: from the store's per-step counts to the report (see docs/reports.md for the definition).

Counted per person: a person enters at their *first* step-1 event in the range, then each next
step is their earliest matching event strictly after the previous step's (ordered by timestamp,
then by event id for events in the same millisecond) and less than ``window`` after the step-1
event. Greedy earliest matching is optimal for an ordered funnel: no later choice converts more.
Step counts are therefore nested, and conversion rates never exceed 100 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import FunnelQuery

SHOWN_BREAKDOWNS = 10  # the largest values by step-1 people; the rest are summed into OTHER
OTHER = "(other)"


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class FunnelGroup:
    breakdown: str | None
    people: tuple[int, ...]  # per step
    median_seconds: tuple[float | None, ...]  # per step: median time from the previous step; None for step 1

    @property
    def conversion(self) -> list[float | None]:
        return [rate(n, self.people[0]) for n in self.people]

    @property
    def step_conversion(self) -> list[float | None]:
        return [rate(n, self.people[i - 1]) if i else rate(n, n) for i, n in enumerate(self.people)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "breakdown": self.breakdown,
            "people": list(self.people),
            "conversion": self.conversion,
            "step_conversion": self.step_conversion,
            "median_seconds": list(self.median_seconds),
        }


@dataclass(frozen=True)
class FunnelCounts:
    total: FunnelGroup
    groups: tuple[FunnelGroup, ...]  # per breakdown value; empty without a breakdown


@dataclass(frozen=True)
class FunnelReport:
    query: FunnelQuery
    total: FunnelGroup
    groups: tuple[FunnelGroup, ...]

    def as_dict(self) -> dict[str, Any]:
        steps = [{**s.as_dict(), "label": s.label()} for s in self.query.steps]
        return {"steps": steps, "total": self.total.as_dict(), "breakdowns": [g.as_dict() for g in self.groups]}

    def table(self) -> ReportTable:
        columns = ("breakdown", "step", "event", "people", "conversion", "step_conversion", "median_seconds")
        rows = []
        for group in (self.total, *self.groups):
            label = "all" if group is self.total else group.breakdown
            for index, step in enumerate(self.query.steps):
                rows.append(
                    (
                        label,
                        index + 1,
                        step.label(),
                        group.people[index],
                        group.conversion[index],
                        group.step_conversion[index],
                        group.median_seconds[index],
                    )
                )
        return ReportTable(columns, rows)

    def display(self) -> ReportTable:
        columns = ("step", "event", "people", "conversion", "from previous", "median time")
        rows = []
        for index, step in enumerate(self.query.steps):
            conversion, previous = self.total.conversion[index], self.total.step_conversion[index]
            median = self.total.median_seconds[index]
            rows.append(
                (
                    index + 1,
                    step.label(),
                    self.total.people[index],
                    "" if conversion is None else f"{conversion:.1%}",
                    "" if previous is None else f"{previous:.1%}",
                    "" if median is None else _duration(median),
                )
            )
        return ReportTable(columns, rows)


def _duration(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} d"
    if seconds >= 3_600:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 60:.1f} min"


def build_funnel(query: FunnelQuery, counts: FunnelCounts) -> FunnelReport:
    """Keep the largest breakdown values; sum the rest into ``(other)`` (its medians are unknown)."""
    ranked = sorted(counts.groups, key=lambda g: (-g.people[0], g.breakdown or ""))
    shown, rest = ranked[:SHOWN_BREAKDOWNS], ranked[SHOWN_BREAKDOWNS:]
    if rest:
        people = tuple(sum(g.people[i] for g in rest) for i in range(len(query.steps)))
        shown.append(FunnelGroup(OTHER, people, (None,) * len(query.steps)))
    return FunnelReport(query, counts.total, tuple(shown))
