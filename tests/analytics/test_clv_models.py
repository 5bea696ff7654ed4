"""The customer-value models reproduce the published CDNOW estimates; the summary follows the method's rules.

No database: orders in, numbers out, in milliseconds. The database and the HTTP/CLI front doors
are tested in test_clv_workspace.py.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from siyu.analytics import bgnbd, gamma_gamma
from siyu.analytics.bgnbd import BgNbdParameters
from siyu.analytics.clv import ClvOptions, customer_values, fit_orders
from siyu.analytics.clv_errors import ClvError, NotEnoughData
from siyu.analytics.clv_job import live_owner, order_amount, orders_of_live_profiles
from siyu.analytics.clv_summary import Orders, TimeUnit, parse_day, parse_time_unit, summarise
from siyu.analytics.gamma_gamma import GammaGammaParameters
from siyu.db.types import to_millis
from tests.analytics.data import cdnow


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def orders() -> Orders:
    return Orders.from_rows(cdnow.transactions())


@pytest.fixture(scope="module")
def calibration(orders: Orders):  # noqa: ANN201
    return summarise(orders, cdnow.CALIBRATION_END, TimeUnit.WEEK)


# --- the summary ---------------------------------------------------------------------------------


def test_the_cdnow_summary_matches_lifetimes_to_the_cent(calibration) -> None:  # noqa: ANN001
    expected = cdnow.lifetimes_summary()
    assert len(calibration) == len(expected) == cdnow.CUSTOMERS
    for i, customer in enumerate(calibration.customers.tolist()):
        x, t_x, age, zbar = expected[customer]
        assert calibration.frequency[i] == x
        assert calibration.recency[i] == pytest.approx(t_x, abs=0.0051)
        assert calibration.age[i] == pytest.approx(age, abs=0.0051)
        assert calibration.monetary[i] == pytest.approx(zbar, abs=0.0051)
    assert int((calibration.frequency > 0).sum()) == 946


def test_purchases_on_one_day_are_one_transaction_with_the_amounts_summed() -> None:
    orders = Orders.from_rows(
        [
            (7, date(2024, 1, 1), 10.0),
            (7, date(2024, 1, 5), 20.0),
            (7, date(2024, 1, 5), 30.0),
            (7, date(2024, 1, 15), 40.0),
        ]
    )
    summary = summarise(orders, date(2024, 1, 29), TimeUnit.WEEK)
    assert summary.frequency.tolist() == [2.0]  # 5 and 15 January: two repeat days
    assert summary.recency.tolist() == [2.0] and summary.age.tolist() == [4.0]
    assert summary.monetary.tolist() == [45.0]  # (20 + 30 + 40) / 2: the first purchase left out


def test_the_calibration_period_includes_its_last_day_and_leaves_out_later_customers() -> None:
    orders = Orders.from_rows([(1, date(2024, 1, 1), 5.0), (1, date(2024, 1, 10), 5.0), (2, date(2024, 1, 11), 5.0)])
    summary = summarise(orders, date(2024, 1, 10), TimeUnit.DAY)
    assert summary.customers.tolist() == [1]
    assert (summary.frequency[0], summary.recency[0], summary.age[0]) == (1.0, 9.0, 9.0)


def test_days_are_cut_in_the_workspaces_time_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    # 23:30 and 00:30 in Shanghai are one UTC day apart from what a UTC cut would say.
    late = to_millis(datetime(2024, 6, 1, 15, 30, tzinfo=UTC))  # 23:30 on 1 June in Shanghai
    early = to_millis(datetime(2024, 6, 1, 16, 30, tzinfo=UTC))  # 00:30 on 2 June in Shanghai
    orders = orders_of_live_profiles([(1, late, 10, None), (1, early, "12.5", None)], {}, shanghai)
    assert sorted(date.fromordinal(d) for d in orders.days.tolist()) == [date(2024, 6, 1), date(2024, 6, 2)]
    utc = orders_of_live_profiles([(1, late, 10, None), (1, early, 12.5, None)], {}, ZoneInfo("UTC"))
    assert len(set(utc.days.tolist())) == 1


def test_orders_of_merged_profiles_follow_the_merge_and_erased_ones_are_dropped() -> None:
    gone = {2: (1, False), 3: (2, False), 4: (None, True), 5: (4, False)}
    assert [live_owner(p, gone) for p in (1, 2, 3, 4, 5, 6)] == [1, 1, 1, None, None, 6]
    assert live_owner(8, {8: (9, False), 9: (8, False)}) is None  # a corrupt cycle ends, unowned


@pytest.mark.parametrize(
    ("revenue", "total", "amount"),
    [
        (12.5, 99, 12.5),
        ("7.25", None, 7.25),
        (None, 3, 3.0),
        ("n/a", "4", 4.0),
        (True, None, 0.0),
        (None, None, 0.0),
        ("nan", 2, 2.0),
    ],
)
def test_the_amount_is_revenue_else_total(revenue, total, amount: float) -> None:  # noqa: ANN001
    assert order_amount(revenue, total) == amount


def test_options_are_parsed_with_stable_error_codes() -> None:
    assert parse_day("1997-09-30") == date(1997, 9, 30)
    assert parse_time_unit(" Week ") is TimeUnit.WEEK
    for bad in ("1997-13-01", "30/09/1997", "1997-9-30", "19970930", "1997-W39-2", ""):
        with pytest.raises(ClvError) as error:
            parse_day(bad)
        assert error.value.code == "clv.invalid_date"
    with pytest.raises(ClvError) as error:
        parse_time_unit("month")
    assert error.value.code == "clv.invalid_time_unit"
    with pytest.raises(ClvError):
        ClvOptions(horizon_days=0)
    with pytest.raises(ClvError):
        ClvOptions(discount_rate=-0.1)


# --- BG/NBD ----------------------------------------------------------------------------------------


def test_bgnbd_reproduces_the_published_cdnow_estimates(calibration) -> None:  # noqa: ANN001
    """Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 4: 2,357 CDNOW
    customers, 39-week calibration period ending 1997-09-30, in weeks."""
    fitted = bgnbd.fit(calibration.frequency, calibration.recency, calibration.age)
    assert [significant(v) for v in (fitted.r, fitted.alpha, fitted.a, fitted.b)] == [0.243, 4.41, 0.793, 2.43]
    assert round(fitted.alpha, 3) == 4.414 and round(fitted.b, 3) == 2.426
    # The paper's log-likelihood at the optimum is -9582.4.
    total = bgnbd.log_likelihood(fitted, calibration.frequency, calibration.recency, calibration.age).sum()
    assert round(float(total), 1) == -9582.4


def test_conditional_expectations_for_customer_one() -> None:
    published = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, t_x, age = np.array([2.0]), np.array([30.43]), np.array([38.86])
    assert round(float(bgnbd.expected_purchases(published, 39, x, t_x, age)[0]), 3) == 1.226
    assert round(float(bgnbd.probability_alive(published, x, t_x, age)[0]), 3) == 0.727


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence() -> None:
    published = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x = np.array([0.0, 3.0, 3.0, 3.0, 80.0])
    t_x = np.array([0.0, 20.0, 20.0, 20.0, 30.0])
    age = np.array([30.0, 20.0, 40.0, 4000.0, 4000.0])
    alive = bgnbd.probability_alive(published, x, t_x, age)
    assert alive[0] == 1.0 and alive[1] > alive[2] > alive[3] >= 0
    assert np.all(np.isfinite(alive)) and np.all(alive <= 1)
    purchases = bgnbd.expected_purchases(published, 52, x, t_x, age)
    assert np.all(np.isfinite(purchases)) and np.all(purchases >= 0)


def test_expected_purchases_grow_with_the_horizon(calibration) -> None:  # noqa: ANN001
    published = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
    args = (calibration.frequency, calibration.recency, calibration.age)
    short, long = bgnbd.expected_purchases(published, 10, *args), bgnbd.expected_purchases(published, 52, *args)
    assert np.all(long >= short) and np.all(short >= 0)


# --- Gamma-Gamma -----------------------------------------------------------------------------------


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(calibration) -> None:  # noqa: ANN001
    """Fader, Hardie & Lee (2005), "RFM and CLV", and Fader & Hardie (2013): the 946 customers with
    repeat purchases in the same 39-week calibration period, mean repeat amount: p=6.25, q=3.74,
    gamma=15.44. (lifetimes' docs show v=15.45 because its summary file rounds z-bar to the cent:
    the second fit below.)"""
    fitted = gamma_gamma.fit(calibration.frequency, calibration.monetary)
    assert [significant(v, 3) for v in (fitted.p, fitted.q)] == [6.25, 3.74]
    assert round(fitted.v, 2) == 15.44
    assert int(gamma_gamma.usable(calibration.frequency, calibration.monetary).sum()) == 946
    rounded = cdnow.lifetimes_summary().values()
    x = np.array([r[0] for r in rounded], dtype=float)
    zbar = np.array([r[3] for r in rounded])
    assert round(gamma_gamma.fit(x, zbar).v, 2) == 15.45


def test_expected_order_value_shrinks_towards_the_population_mean() -> None:
    params = GammaGammaParameters(p=6.25, q=3.74, v=15.44)
    mean = params.population_mean
    assert mean == pytest.approx(6.25 * 15.44 / 2.74)
    values = gamma_gamma.expected_order_value(params, np.array([0.0, 1.0, 50.0]), np.array([0.0, 100.0, 100.0]))
    assert values[0] == pytest.approx(mean)
    assert mean < values[1] < values[2] < 100


@pytest.mark.parametrize("point", [(0.243, 4.414, 0.793, 2.426), (2.0, 0.5, 3.0, 0.7), (0.05, 20.0, 0.05, 30.0)])
def test_the_bgnbd_gradient_is_the_derivative_of_the_likelihood(calibration, point) -> None:  # noqa: ANN001
    args = (calibration.frequency, calibration.recency, calibration.age)
    analytic = bgnbd.gradient(BgNbdParameters(*point), *args).sum(axis=0)
    for i in range(4):
        step = 1e-6 * point[i]
        up, down = list(point), list(point)
        up[i] += step
        down[i] -= step
        numeric = (
            bgnbd.log_likelihood(BgNbdParameters(*up), *args).sum()
            - bgnbd.log_likelihood(BgNbdParameters(*down), *args).sum()
        ) / (2 * step)
        assert analytic[i] == pytest.approx(numeric, rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("point", [(6.25, 3.74, 15.44), (1.0, 2.0, 3.0)])
def test_the_gamma_gamma_gradient_is_the_derivative_of_the_likelihood(calibration, point) -> None:  # noqa: ANN001
    repeat = calibration.frequency > 0
    args = (calibration.frequency[repeat], calibration.monetary[repeat])
    analytic = gamma_gamma.gradient(GammaGammaParameters(*point), *args).sum(axis=0)
    for i in range(3):
        step = 1e-6 * point[i]
        up, down = list(point), list(point)
        up[i] += step
        down[i] -= step
        numeric = (
            gamma_gamma.log_likelihood(GammaGammaParameters(*up), *args).sum()
            - gamma_gamma.log_likelihood(GammaGammaParameters(*down), *args).sum()
        ) / (2 * step)
        assert analytic[i] == pytest.approx(numeric, rel=1e-4, abs=1e-3)


# --- the whole fit ---------------------------------------------------------------------------------


def test_a_calibrated_fit_reports_the_holdout_by_calibration_frequency(orders: Orders) -> None:
    fit = fit_orders(orders, ClvOptions(calibration_end=cdnow.CALIBRATION_END, time_unit=TimeUnit.WEEK))
    assert fit.customers == cdnow.CUSTOMERS and fit.repeat_customers == 946
    assert significant(fit.bgnbd.r) == 0.243 and significant(fit.gamma_gamma.p) == 6.25
    holdout = fit.holdout
    assert holdout is not None
    assert (holdout["start"], holdout["end"], holdout["length"]) == ("1997-10-01", "1998-06-30", 39.0)
    groups = holdout["by_frequency"]
    assert [g["frequency"] for g in groups] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(g["customers"] for g in groups) == cdnow.CUSTOMERS
    assert holdout["actual"] == 1882  # repeat transaction days in weeks 40-78
    assert holdout["predicted"] == pytest.approx(sum(g["predicted"] * g["customers"] for g in groups), rel=1e-3)
    assert 0.8 < holdout["predicted"] / holdout["actual"] < 1.1
    # More past purchases, more future ones: both the data and the model say so.
    assert [g["predicted"] for g in groups] == sorted(g["predicted"] for g in groups)
    assert len(fit.values) == cdnow.CUSTOMERS and fit.observation_end == date(1998, 6, 30)


def test_customer_values_with_and_without_discounting(calibration) -> None:  # noqa: ANN001
    bg = BgNbdParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaParameters(p=6.25, q=3.74, v=15.44)
    plain = customer_values(bg, gg, calibration, 365, 0.0)
    assert np.allclose(plain.clv, plain.expected_purchases * plain.expected_order_value)
    assert np.all((plain.p_alive > 0) & (plain.p_alive <= 1)) and np.all(plain.clv >= 0)
    never_repeated = calibration.frequency == 0
    assert np.allclose(plain.expected_order_value[never_repeated], gg.population_mean)
    discounted = customer_values(bg, gg, calibration, 365, 0.1)
    assert np.all(discounted.clv <= plain.clv) and np.all(discounted.clv >= plain.clv / 1.1 - 1e-9)
    assert np.array_equal(discounted.expected_purchases, plain.expected_purchases)


def test_too_few_repeat_customers_or_no_orders_is_not_enough_data() -> None:
    with pytest.raises(NotEnoughData) as error:
        fit_orders(Orders.from_rows([]), ClvOptions())
    assert error.value.code == "clv.not_enough_data"
    few = Orders.from_rows([(c, date(2024, 1, d), 10.0) for c in range(5) for d in (1, 9)])
    with pytest.raises(NotEnoughData) as error:
        fit_orders(few, ClvOptions())
    assert error.value.details["repeat_customers"] == 5


@pytest.mark.parametrize("end", [date(1996, 12, 31), date(1998, 6, 30), date(1999, 1, 1)])
def test_the_calibration_end_must_leave_a_holdout(orders: Orders, end: date) -> None:
    with pytest.raises(ClvError) as error:
        fit_orders(orders, ClvOptions(calibration_end=end))
    assert error.value.code == "clv.invalid_date"


def test_days_and_weeks_give_the_same_model_up_to_the_time_scale(orders: Orders) -> None:
    weeks = fit_orders(orders, ClvOptions(time_unit=TimeUnit.WEEK)).bgnbd
    days = fit_orders(orders, ClvOptions(time_unit=TimeUnit.DAY)).bgnbd
    assert days.r == pytest.approx(weeks.r, rel=1e-3) and days.a == pytest.approx(weeks.a, rel=1e-3)
    assert days.alpha == pytest.approx(7 * weeks.alpha, rel=1e-3)
    assert not math.isnan(days.b)
