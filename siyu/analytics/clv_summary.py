"""From orders to the per-customer summary the BG/NBD and Gamma-Gamma models read.

The rules are those of the published method (Fader, Hardie & Lee 2005, "Counting your customers
the easy way", section 2; and the CDNOW data set behind it):

* Purchases on the same calendar day are one transaction; their amounts add up. The day is the
  caller's (siyu cuts it in the workspace's time zone).
* Time starts at each customer's first purchase. ``frequency`` (x) is the number of *repeat*
  transaction days, ``recency`` (t_x) the time from the first to the last transaction, ``age`` (T)
  the time from the first transaction to the end of the period, all in the chosen unit (days, or
  days / 7 for weeks).
* The period includes its end date. A customer whose first purchase falls after it is not in it.
* ``monetary`` is the mean value of the repeat transactions only (the first one is left out, as
  in Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves"); 0 when there are none.

Everything is vectorised with NumPy: a workspace with millions of orders summarises in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from siyu.analytics.clv_errors import ClvError

DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class TimeUnit(StrEnum):
    DAY = "day"
    WEEK = "week"

    @property
    def days(self) -> int:
        return 7 if self is TimeUnit.WEEK else 1


def parse_time_unit(value: str) -> TimeUnit:
    try:
        return TimeUnit(value.strip().lower())
    except ValueError:
        raise ClvError(
            f"Unknown time unit {value!r}: use 'day' or 'week'.",
            code="clv.invalid_time_unit",
            details={"time_unit": value},
        ) from None


def parse_day(value: str, option: str = "calibration_end") -> date:
    """A ``YYYY-MM-DD`` date, or a ``clv.invalid_date`` error that says what was expected."""
    try:
        if not DAY_PATTERN.fullmatch(value):  # fromisoformat alone also takes 19970930 and 1997-W39-2
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ClvError(
            f"{option} must be a date written YYYY-MM-DD, not {value!r}.",
            code="clv.invalid_date",
            details={option: value},
        ) from None


@dataclass(frozen=True)
class Orders:
    """Order lines as three aligned arrays: who bought (profile id), on which local day, for how much."""

    customers: np.ndarray  # int64
    days: np.ndarray  # int64, date.toordinal() of the local day
    amounts: np.ndarray  # float64

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, date, float]]) -> Orders:
        listed = list(rows)
        return cls(
            np.fromiter((r[0] for r in listed), dtype=np.int64, count=len(listed)),
            np.fromiter((r[1].toordinal() for r in listed), dtype=np.int64, count=len(listed)),
            np.fromiter((r[2] for r in listed), dtype=np.float64, count=len(listed)),
        )

    def __len__(self) -> int:
        return len(self.customers)

    @property
    def first_day(self) -> date:
        return date.fromordinal(int(self.days.min()))

    @property
    def last_day(self) -> date:
        return date.fromordinal(int(self.days.max()))


@dataclass(frozen=True)
class CustomerSummary:
    """One entry per customer, sorted by customer id; times in the summary's unit."""

    customers: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    age: np.ndarray  # T in the papers
    monetary: np.ndarray
    end: date
    unit: TimeUnit

    def __len__(self) -> int:
        return len(self.customers)


def daily_transactions(orders: Orders) -> Orders:
    """Collapse orders to one transaction per (customer, day), amounts summed; sorted by customer, day."""
    if not len(orders):
        return orders
    order = np.lexsort((orders.days, orders.customers))
    customers, days, amounts = orders.customers[order], orders.days[order], orders.amounts[order]
    starts = np.flatnonzero(np.r_[True, (customers[1:] != customers[:-1]) | (days[1:] != days[:-1])])
    return Orders(customers[starts], days[starts], np.add.reduceat(amounts, starts))


def summarise(orders: Orders, end: date, unit: TimeUnit) -> CustomerSummary:
    """The (x, t_x, T, mean repeat value) summary of every customer who bought on or before ``end``."""
    kept = orders.days <= end.toordinal()
    daily = daily_transactions(Orders(orders.customers[kept], orders.days[kept], orders.amounts[kept]))
    if not len(daily):
        empty = np.zeros(0)
        return CustomerSummary(np.zeros(0, dtype=np.int64), empty, empty, empty, empty, end, unit)
    starts = np.flatnonzero(np.r_[True, daily.customers[1:] != daily.customers[:-1]])
    ends = np.r_[starts[1:], len(daily)] - 1
    first, last = daily.days[starts], daily.days[ends]
    count = ends - starts + 1
    frequency = (count - 1).astype(np.float64)
    repeat_value = np.add.reduceat(daily.amounts, starts) - daily.amounts[starts]
    monetary = np.divide(repeat_value, frequency, out=np.zeros_like(repeat_value), where=frequency > 0)
    return CustomerSummary(
        customers=daily.customers[starts],
        frequency=frequency,
        recency=(last - first) / unit.days,
        age=(end.toordinal() - first) / unit.days,
        monetary=monetary,
        end=end,
        unit=unit,
    )


def count_transactions_between(orders: Orders, customers: np.ndarray, after: date, until: date) -> np.ndarray:
    """Transaction days of each of ``customers`` (sorted) in ``(after, until]``: the holdout actuals."""
    days = orders.days
    inside = (days > after.toordinal()) & (days <= until.toordinal())
    daily = daily_transactions(Orders(orders.customers[inside], days[inside], orders.amounts[inside]))
    counts = np.zeros(len(customers), dtype=np.int64)
    if len(daily) and len(customers):
        position = np.searchsorted(customers, daily.customers)
        position = np.minimum(position, len(customers) - 1)
        known = customers[position] == daily.customers
        np.add.at(counts, position[known], 1)
    return counts
