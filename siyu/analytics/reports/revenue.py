"""Private-domain revenue per day, week or month: revenue, orders, buyers and average order value.

An order is an ``Order Completed`` event; its amount is ``properties.total``, else
``properties.revenue`` (the mirror's ``revenue`` column, as the profile rollups count it; an order
with neither counts as an order of 0). Buyers are distinct people per period — so the total's
buyers are not the sum of the periods'. AOV = revenue / orders. A week or month cut by the range's
ends is ``partial``: only its days inside the range are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from siyu.analytics.reports.calendar import day_number, period_index, period_label, period_start
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import RevenueQuery

Figures = tuple[float, int, int]  # revenue, orders, buyers


@dataclass(frozen=True)
class RevenueRow:
    period: str
    revenue: float
    orders: int
    buyers: int
    partial: bool

    @property
    def average_order_value(self) -> float | None:
        return round(self.revenue / self.orders, 2) if self.orders else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "revenue": self.revenue,
            "orders": self.orders,
            "buyers": self.buyers,
            "average_order_value": self.average_order_value,
            "partial": self.partial,
        }


@dataclass(frozen=True)
class RevenueReport:
    query: RevenueQuery
    rows: tuple[RevenueRow, ...]
    total: RevenueRow

    def as_dict(self) -> dict[str, Any]:
        return {"rows": [r.as_dict() for r in self.rows], "total": self.total.as_dict()}

    def table(self) -> ReportTable:
        return ReportTable(
            ("period", "revenue", "orders", "buyers", "average_order_value", "partial"),
            [
                (r.period, r.revenue, r.orders, r.buyers, r.average_order_value, r.partial)
                for r in (*self.rows, self.total)
            ],
        )

    def display(self) -> ReportTable:
        return ReportTable(
            ("period", "revenue", "orders", "buyers", "AOV"),
            [
                (
                    r.period + ("*" if r.partial else ""),
                    f"{r.revenue:,.2f}",
                    r.orders,
                    r.buyers,
                    "" if r.average_order_value is None else f"{r.average_order_value:,.2f}",
                )
                for r in (*self.rows, self.total)
            ],
        )


def build_revenue(query: RevenueQuery, figures: dict[int, Figures], total: Figures) -> RevenueReport:
    """Every period of the range, empty ones included (a chart with gaps hides the zeros)."""
    period = query.period
    first = period_index(day_number(query.range.first), period)
    last = period_index(day_number(query.range.last), period)
    rows = []
    for index in range(first, last + 1):
        begins = period_start(index, period)
        ends = period_start(index + 1, period) - timedelta(days=1)
        revenue, orders, buyers = figures.get(index, (0.0, 0, 0))
        partial = begins < query.range.first or ends > query.range.last
        rows.append(RevenueRow(period_label(index, period), round(revenue, 2), orders, buyers, partial))
    return RevenueReport(query, tuple(rows), RevenueRow("all", round(total[0], 2), total[1], total[2], False))
