"""Customer value: fit BG/NBD and Gamma-Gamma to a workspace's orders and value every customer.

Pure: orders in, parameters and per-customer scores out (no database; see ``clv_job`` for that).

* The models are fitted on the calibration period: every order up to ``calibration_end``
  (inclusive), or all orders when none is given.
* With ``calibration_end``, the orders after it (to the last order) are the holdout: the model's
  expected repeat purchases there are set against the actual ones, in total and by calibration
  frequency 0..7+ (the comparison of Fader, Hardie & Lee 2005, figure 5).
* Scores are computed for everyone with an order, from their whole history, as of the day of
  the workspace's last order (not today: an import of last year's orders is read as of its own
  time, and a live shop's last order is today anyway).
* CLV = expected purchases over the horizon x expected order value, optionally discounted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from siyu.analytics import bgnbd, gamma_gamma
from siyu.analytics.bgnbd import BgNbdParameters
from siyu.analytics.clv_errors import ClvError, NotEnoughData
from siyu.analytics.clv_summary import CustomerSummary, Orders, TimeUnit, count_transactions_between, summarise
from siyu.analytics.gamma_gamma import GammaGammaParameters

# Below this many customers with a repeat purchase the estimates are noise (the CDNOW sample that
# validates the method has 946); the number is a floor against nonsense, not a recommendation.
MIN_REPEAT_CUSTOMERS = 10
DISCOUNT_STEP_DAYS = 30  # cash flows are discounted month by month, as lifetimes does
FREQUENCY_GROUPS = 8  # holdout comparison by calibration frequency 0, 1, ..., 6, 7+


@dataclass(frozen=True)
class ClvOptions:
    calibration_end: date | None = None
    time_unit: TimeUnit = TimeUnit.WEEK
    horizon_days: int = 365
    discount_rate: float = 0.0  # annual; 0.1 means a yuan next year is worth 1/1.1 today

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_days <= 3650:
            raise ClvError(
                "The horizon must be between 1 and 3650 days.",
                code="clv.invalid_option",
                details={"horizon_days": self.horizon_days},
            )
        if not 0 <= self.discount_rate <= 10:
            raise ClvError(
                "The discount rate is annual, between 0 and 10 (0.1 = 10% a year).",
                code="clv.invalid_option",
                details={"discount_rate": self.discount_rate},
            )


@dataclass(frozen=True)
class CustomerValues:
    """Per-customer scores, aligned arrays sorted by customer (profile) id."""

    customers: np.ndarray
    p_alive: np.ndarray
    expected_purchases: np.ndarray  # over the horizon, undiscounted
    expected_order_value: np.ndarray
    clv: np.ndarray

    def __len__(self) -> int:
        return len(self.customers)


@dataclass(frozen=True)
class ClvFit:
    options: ClvOptions
    customers: int  # in the calibration period
    repeat_customers: int  # of those, with a repeat purchase of positive value (the Gamma-Gamma sample)
    bgnbd: BgNbdParameters
    gamma_gamma: GammaGammaParameters
    observation_end: date
    values: CustomerValues
    diagnostics: dict[str, Any] = field(default_factory=dict)
    holdout: dict[str, Any] | None = None


def customer_values(
    bg: BgNbdParameters, gg: GammaGammaParameters, summary: CustomerSummary, horizon_days: int, discount_rate: float
) -> CustomerValues:
    """Scores as of the summary's end. Discounted CLV sums, step k of 30 days ending on day d_k,

    (E[Y(d_k)] - E[Y(d_(k-1))]) x E[Z] / (1 + rate)^(d_k / 365)
    """
    x, t_x, age = summary.frequency, summary.recency, summary.age
    unit = summary.unit.days
    order_value = gamma_gamma.expected_order_value(gg, x, summary.monetary)
    purchases = bgnbd.expected_purchases(bg, horizon_days / unit, x, t_x, age)
    if discount_rate == 0:
        discounted = purchases
    else:
        discounted, before = np.zeros_like(purchases), np.zeros_like(purchases)
        for day in [*range(DISCOUNT_STEP_DAYS, horizon_days, DISCOUNT_STEP_DAYS), horizon_days]:
            so_far = purchases if day == horizon_days else bgnbd.expected_purchases(bg, day / unit, x, t_x, age)
            discounted += (so_far - before) / (1 + discount_rate) ** (day / 365)
            before = so_far
    return CustomerValues(
        customers=summary.customers,
        p_alive=bgnbd.probability_alive(bg, x, t_x, age),
        expected_purchases=purchases,
        expected_order_value=order_value,
        clv=np.maximum(discounted * order_value, 0.0),
    )


def compare_holdout(
    bg: BgNbdParameters, calibration: CustomerSummary, orders: Orders, holdout_end: date
) -> dict[str, Any]:
    """Actual against expected repeat purchases after the calibration end, per customer of the calibration."""
    length = (holdout_end - calibration.end).days / calibration.unit.days
    actual = count_transactions_between(orders, calibration.customers, calibration.end, holdout_end)
    expected = bgnbd.expected_purchases(bg, length, calibration.frequency, calibration.recency, calibration.age)
    group = np.minimum(calibration.frequency, FREQUENCY_GROUPS - 1).astype(int)
    by_frequency = []
    for k in range(FREQUENCY_GROUPS):
        members = group == k
        if members.any():
            by_frequency.append(
                {
                    "frequency": f"{k}+" if k == FREQUENCY_GROUPS - 1 else str(k),
                    "customers": int(members.sum()),
                    "actual": round(float(actual[members].mean()), 4),
                    "predicted": round(float(expected[members].mean()), 4),
                }
            )
    return {
        "start": (calibration.end + timedelta(days=1)).isoformat(),
        "end": holdout_end.isoformat(),
        "length": round(length, 4),
        "customers": len(calibration),
        "actual": int(actual.sum()),
        "predicted": round(float(expected.sum()), 2),
        "by_frequency": by_frequency,
    }


def fit_orders(orders: Orders, options: ClvOptions) -> ClvFit:
    """Fit both models on the calibration period and value every customer (see the module docstring)."""
    if not len(orders):
        raise NotEnoughData(
            "This workspace has no orders ('Order Completed' events of live profiles) to fit.", details={"orders": 0}
        )
    observation_end = orders.last_day
    end = options.calibration_end or observation_end
    if options.calibration_end is not None and not orders.first_day <= end < observation_end:
        raise ClvError(
            f"The calibration end must fall on or after the first order ({orders.first_day}) and "
            f"before the last one ({observation_end}), so that there is a holdout period.",
            code="clv.invalid_date",
            details={
                "calibration_end": end.isoformat(),
                "first_order": orders.first_day.isoformat(),
                "last_order": observation_end.isoformat(),
            },
        )
    calibration = summarise(orders, end, options.time_unit)
    repeat_customers = int(gamma_gamma.usable(calibration.frequency, calibration.monetary).sum())
    if repeat_customers < MIN_REPEAT_CUSTOMERS:
        raise NotEnoughData(
            f"Only {repeat_customers} customers bought again (with a positive amount) in the calibration period; "
            f"the models need at least {MIN_REPEAT_CUSTOMERS}. Wait for more orders, import order history, or "
            "choose a later calibration end.",
            details={"customers": len(calibration), "repeat_customers": repeat_customers},
        )
    bg = bgnbd.fit(calibration.frequency, calibration.recency, calibration.age)
    gg = gamma_gamma.fit(calibration.frequency, calibration.monetary)
    everyone = summarise(orders, observation_end, options.time_unit) if options.calibration_end else calibration
    diagnostics = {
        "frequency_value_correlation": gamma_gamma.frequency_value_correlation(
            calibration.frequency, calibration.monetary
        )
    }
    return ClvFit(
        options=options,
        customers=len(calibration),
        repeat_customers=repeat_customers,
        bgnbd=bg,
        gamma_gamma=gg,
        observation_end=observation_end,
        values=customer_values(bg, gg, everyone, options.horizon_days, options.discount_rate),
        diagnostics=diagnostics,
        holdout=compare_holdout(bg, calibration, orders, observation_end) if options.calibration_end else None,
    )
