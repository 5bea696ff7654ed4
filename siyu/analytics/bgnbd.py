"""The BG/NBD model: how many more times will a customer buy, and is she still a customer?

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way: an
alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284. Equation numbers below are
the paper's. While alive, a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each
purchase she drops out with probability p ~ Beta(a, b). From each customer's (x, t_x, T) the
parameters (r, alpha, a, b) are estimated by maximum likelihood.

The likelihood is computed in logs throughout (gammaln, betaln, logaddexp), and the optimiser works
on log-parameters (:mod:`siyu.analytics.clv_optimise`); rows with the same (x, t_x, T) are folded into one
weighted row, which for daily data of a large shop cuts the work several-fold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from siyu.analytics.clv_errors import FitFailed
from siyu.analytics.clv_optimise import fit_log_parameters


@dataclass(frozen=True)
class BgNbdParameters:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def log_likelihood(params: BgNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood, equation (6), written so nothing over- or underflows:

    ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
           + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = frequency
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    not_yet_gone = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    gone_after_last = np.full_like(x, -np.inf, dtype=np.float64)
    gone_after_last[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + recency[repeat])
    return common + np.logaddexp(not_yet_gone, gone_after_last)


def gradient(params: BgNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Each customer's d ln L / d(r, alpha, a, b), one row per customer: equation (6) differentiated.

    With L_A = -(r+x) ln(alpha+T), L_B = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x) and w_A, w_B their
    shares of exp(L_A) + exp(L_B) (w_B = 0 when x = 0), psi the digamma function:
    d/dr = psi(r+x) - psi(r) + ln alpha - w_A ln(alpha+T) - w_B ln(alpha+t_x)
    d/dalpha = r/alpha - (r+x) (w_A/(alpha+T) + w_B/(alpha+t_x))
    d/da = psi(a+b) - psi(a+b+x) + w_B/a
    d/db = psi(b+x) - psi(b) + psi(a+b) - psi(a+b+x) - w_B/(b+x-1)
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = frequency
    not_yet_gone = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    gone_after_last = np.full_like(x, -np.inf, dtype=np.float64)
    gone_after_last[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + recency[repeat])
    total = np.logaddexp(not_yet_gone, gone_after_last)
    w_a, w_b = np.exp(not_yet_gone - total), np.exp(gone_after_last - total)
    shared = digamma(a + b) - digamma(a + b + x)
    return np.column_stack(
        [
            digamma(r + x) - digamma(r) + np.log(alpha) - w_a * np.log(alpha + age) - w_b * np.log(alpha + recency),
            r / alpha - (r + x) * (w_a / (alpha + age) + w_b / (alpha + recency)),
            shared + w_b / a,
            digamma(b + x) - digamma(b) + shared - w_b / np.maximum(b + x - 1, 1e-300),
        ]
    )


def fit(frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> BgNbdParameters:
    """Maximum-likelihood (r, alpha, a, b) for the customers' (x, t_x, T)."""
    rows, weights = np.unique(np.column_stack([frequency, recency, age]), axis=0, return_counts=True)
    x, t_x, t = rows[:, 0], rows[:, 1], rows[:, 2]
    share = weights / weights.sum()

    def negative_mean(params: np.ndarray) -> tuple[float, np.ndarray]:
        model = BgNbdParameters(*params)
        return -float(share @ log_likelihood(model, x, t_x, t)), -(share @ gradient(model, x, t_x, t))

    best = fit_log_parameters(negative_mean, 4)
    if best is None:
        raise FitFailed(
            "The BG/NBD fit did not converge: the purchase history is too short or too odd for the model. "
            "Use a longer period, or check for test orders.",
            details={"model": "bgnbd"},
        )
    return BgNbdParameters(*(float(v) for v in best))


def probability_alive(
    params: BgNbdParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).

    As in Fader, Hardie & Lee, "Computing P(alive) using the BG/NBD model" (a note on the paper,
    which spells out the [x>0] term).

    A customer who has never repeated is alive for sure under the model (she has not yet had a
    purchase after which to drop out).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = frequency
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_gone = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-300))
            + (r + x) * (np.log(alpha + age) - np.log(alpha + recency))
        )
    return np.where(x > 0, expit(-log_odds_gone), 1.0)


def expected_purchases(
    params: BgNbdParameters, horizon: float | np.ndarray, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected transactions in the next ``horizon`` time units, equation (10):

    (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < 1e-9:  # the formula has a removable singularity at a = 1
        a += 1e-7
    x = frequency
    span = alpha + age
    horizon = np.asarray(horizon, dtype=np.float64)
    shrink = np.exp((r + x) * (np.log(span) - np.log(span + horizon)))
    series = hyp2f1(r + x, b + x, a + b + x - 1, horizon / (span + horizon))
    before_dropout = (a + b + x - 1) / (a - 1) * (1 - shrink * series)
    return np.maximum(before_dropout, 0.0) * probability_alive(params, x, recency, age)
