"""Repurchase rate: of the buyers whose first order falls in a month, the share who ordered on two days or more.

Orders on the same local day are one purchase occasion (as in the CLV summary), so a split
shipment or a second payment on the same day is not a repurchase. A buyer's first order is their
first ever — a customer who first ordered before the range is in no cohort — and order days are
counted up to the end of the range, so recent months have had less time to repurchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from siyu.analytics.reports.calendar import Period, day_number, period_index, period_label
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import RepurchaseQuery

Cohort = tuple[int, int, int]  # buyers, repeat buyers, orders


@dataclass(frozen=True)
class RepurchaseRow:
    month: str
    buyers: int
    repeat_buyers: int
    orders: int

    @property
    def rate(self) -> float | None:
        return round(self.repeat_buyers / self.buyers, 4) if self.buyers else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "buyers": self.buyers,
            "repeat_buyers": self.repeat_buyers,
            "repurchase_rate": self.rate,
            "orders": self.orders,
        }


@dataclass(frozen=True)
class RepurchaseReport:
    query: RepurchaseQuery
    rows: tuple[RepurchaseRow, ...]
    total: RepurchaseRow

    def as_dict(self) -> dict[str, Any]:
        return {"rows": [r.as_dict() for r in self.rows], "total": self.total.as_dict()}

    def table(self) -> ReportTable:
        return ReportTable(
            ("first_order_month", "buyers", "repeat_buyers", "repurchase_rate", "orders"),
            [(r.month, r.buyers, r.repeat_buyers, r.rate, r.orders) for r in (*self.rows, self.total)],
        )

    def display(self) -> ReportTable:
        return ReportTable(
            ("first order", "buyers", "repeat", "rate", "orders"),
            [
                (r.month, r.buyers, r.repeat_buyers, "" if r.rate is None else f"{r.rate:.1%}", r.orders)
                for r in (*self.rows, self.total)
            ],
        )


def build_repurchase(query: RepurchaseQuery, cohorts: dict[int, Cohort], total: Cohort) -> RepurchaseReport:
    first = period_index(day_number(query.range.first), Period.MONTH)
    last = period_index(day_number(query.range.last), Period.MONTH)
    rows = tuple(
        RepurchaseRow(period_label(m, Period.MONTH), *cohorts.get(m, (0, 0, 0))) for m in range(first, last + 1)
    )
    return RepurchaseReport(query, rows, RepurchaseRow("all", *total))
