"""The channel report: new customers per acquisition channel, their 30-day retention, 90-day revenue and cost.

* **New customers**: people first seen in the range (``profiles.first_seen_at``), by first channel.
* **30-day retention**: of the new customers whose first 30 days are over (``matured_30d``: first-seen
  day + 30 is before today), the share with an event of their own (not one of
  ``system_events.SYSTEM_EVENTS``) on any of local days 1-30 after their first-seen day (day 0 does
  not count: everyone is active the day they arrive).
* **90-day revenue**: the amount of their orders in the 90 days (24-hour days) from their first event;
  for people first seen less than 90 days ago it is still growing. ``buyers_90d`` counts those with an order.
* **Cost per customer** = spend entered for the channel over the months the range touches / new
  customers. Spend is entered per calendar month, so ranges of whole months give the true figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import ChannelQuery, DateRange

Figures = tuple[int, int, int, int, float]  # new, matured, returned, buyers, revenue


def months_of(span: DateRange) -> list[str]:
    """``YYYY-MM`` of every calendar month the range touches."""
    months, cursor = [], date(span.first.year, span.first.month, 1)
    while cursor <= span.last:
        months.append(cursor.isoformat()[:7])
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return months


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    new_customers: int
    matured_30d: int
    returned_30d: int
    buyers_90d: int
    revenue_90d: float
    spend: float | None

    @property
    def retention_30d(self) -> float | None:
        return round(self.returned_30d / self.matured_30d, 4) if self.matured_30d else None

    @property
    def cost_per_customer(self) -> float | None:
        return round(self.spend / self.new_customers, 2) if self.spend is not None and self.new_customers else None

    @property
    def revenue_per_customer_90d(self) -> float | None:
        return round(self.revenue_90d / self.new_customers, 2) if self.new_customers else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "new_customers": self.new_customers,
            "matured_30d": self.matured_30d,
            "returned_30d": self.returned_30d,
            "retention_30d": self.retention_30d,
            "buyers_90d": self.buyers_90d,
            "revenue_90d": self.revenue_90d,
            "revenue_per_customer_90d": self.revenue_per_customer_90d,
            "spend": self.spend,
            "cost_per_customer": self.cost_per_customer,
        }


COLUMNS = (
    "channel",
    "new_customers",
    "matured_30d",
    "returned_30d",
    "retention_30d",
    "buyers_90d",
    "revenue_90d",
    "revenue_per_customer_90d",
    "spend",
    "cost_per_customer",
)


@dataclass(frozen=True)
class ChannelReport:
    query: ChannelQuery
    rows: tuple[ChannelRow, ...]
    total: ChannelRow

    def as_dict(self) -> dict[str, Any]:
        return {
            "months": months_of(self.query.range),
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
        }

    def table(self) -> ReportTable:
        return ReportTable(COLUMNS, [tuple(r.as_dict()[c] for c in COLUMNS) for r in (*self.rows, self.total)])

    def display(self) -> ReportTable:
        def percent(value: float | None) -> str:
            return "" if value is None else f"{value:.1%}"

        def money(value: float | None) -> str:
            return "" if value is None else f"{value:,.2f}"

        return ReportTable(
            ("channel", "new", "30-day retention", "buyers (90 d)", "revenue (90 d)", "spend", "cost/customer"),
            [
                (
                    r.channel,
                    r.new_customers,
                    percent(r.retention_30d),
                    r.buyers_90d,
                    money(r.revenue_90d),
                    money(r.spend),
                    money(r.cost_per_customer),
                )
                for r in (*self.rows, self.total)
            ],
        )


def build_channels(
    query: ChannelQuery, figures: dict[str, Figures], total: Figures, spend: dict[str, float]
) -> ChannelReport:
    """Every channel with new customers or with spend; the largest first."""
    rows = [
        ChannelRow(channel, *figures.get(channel, (0, 0, 0, 0, 0.0)), spend.get(channel))
        for channel in set(figures) | set(spend)
    ]
    rows.sort(key=lambda r: (-r.new_customers, r.channel))
    all_spend = round(sum(spend.values()), 2) if spend else None
    return ChannelReport(query, tuple(rows), ChannelRow("all", *total, all_spend))
