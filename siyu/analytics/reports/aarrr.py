"""The AARRR overview (Dave McClure's "pirate metrics") of a range, from the other reports' definitions.

* **Acquisition**: new customers — people first seen in the range (as in the channel report).
* **Activation**: new customers whose first order came less than 7 days after their first event.
* **Retention**: 30-day returning — of the new customers whose first 30 days are over, those active
  again on local days 1-30 (the channel report's 30-day retention; what siyu writes about a person,
  ``system_events.SYSTEM_EVENTS``, is not activity).
* **Revenue**: every order in the range, by anyone (the revenue report's total): amount, orders,
  buyers, average order value.
* **Referral**: ``Invite Accepted`` events in the range, and the distinct people who sent them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from siyu.analytics.reports.channels import Figures as NewCustomers
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.models import OverviewQuery
from siyu.analytics.reports.revenue import Figures as Revenue

REFERRAL_EVENT = "Invite Accepted"
TOP_CHANNELS = 5


def rate(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Stage:
    stage: str
    measure: str
    value: float
    base: float | None  # what ``rate`` divides by
    rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "measure": self.measure, "value": self.value, "base": self.base, "rate": self.rate}


@dataclass(frozen=True)
class OverviewReport:
    query: OverviewQuery
    stages: tuple[Stage, ...]
    channels: tuple[tuple[str, int], ...]  # the largest acquisition channels

    def as_dict(self) -> dict[str, Any]:
        return {
            "stages": [s.as_dict() for s in self.stages],
            "channels": [{"channel": c, "new_customers": n} for c, n in self.channels],
        }

    def table(self) -> ReportTable:
        return ReportTable(
            ("stage", "measure", "value", "base", "rate"),
            [(s.stage, s.measure, s.value, s.base, s.rate) for s in self.stages],
        )

    def display(self) -> ReportTable:
        return ReportTable(
            ("stage", "measure", "value", "rate"),
            [
                (
                    s.stage,
                    s.measure,
                    f"{s.value:,.2f}" if isinstance(s.value, float) else s.value,
                    "" if s.rate is None else f"{s.rate:.1%}",
                )
                for s in self.stages
            ],
        )


def build_overview(
    query: OverviewQuery,
    channels: dict[str, NewCustomers],
    new: NewCustomers,
    activated: int,
    revenue: Revenue,
    referrals: tuple[int, int],
) -> OverviewReport:
    new_customers, matured, returned, _, _ = new
    amount, orders, buyers = revenue
    invites, inviters = referrals
    stages = (
        Stage("acquisition", "new_customers", new_customers, None, None),
        Stage("activation", "first_order_within_7_days", activated, new_customers, rate(activated, new_customers)),
        Stage("retention", "returned_within_30_days", returned, matured, rate(returned, matured)),
        Stage("revenue", "revenue", round(amount, 2), None, None),
        Stage("revenue", "orders", orders, None, None),
        Stage("revenue", "buyers", buyers, None, None),
        Stage("revenue", "average_order_value", round(amount / orders, 2) if orders else 0.0, None, None),
        Stage("referral", "invites_accepted", invites, None, None),
        Stage("referral", "inviting_customers", inviters, None, None),
    )
    largest = sorted(((c, f[0]) for c, f in channels.items()), key=lambda item: (-item[1], item[0]))
    return OverviewReport(query, stages, tuple(largest[:TOP_CHANNELS]))
