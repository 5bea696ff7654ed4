"""The Gamma-Gamma model of spend per transaction: what will this customer's orders be worth?

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430, section "Spend per
transaction"; and Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (the note with
the likelihood below). A customer's transaction values z vary around her mean spend
zeta ~ 1/Gamma(p, nu) with Gamma(p, nu) spread, nu ~ Gamma(q, gamma) across customers; only her
mean repeat value z-bar over x repeat transactions is used. The model assumes spend does not
depend on how often one buys: :func:`frequency_value_correlation` reports how true that is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from siyu.analytics.clv_errors import FitFailed
from siyu.analytics.clv_optimise import fit_log_parameters


@dataclass(frozen=True)
class GammaGammaParameters:
    p: float
    q: float
    v: float  # gamma in the papers; lifetimes calls it v

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def population_mean(self) -> float:
        """E[Z] = p v / (q - 1): the expected order value of someone with no repeat purchase yet."""
        return self.p * self.v / (self.q - 1)


def log_likelihood(params: GammaGammaParameters, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood of her mean repeat value z-bar given x (Fader & Hardie 2013):

    ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln z + px ln x - (px+q) ln(v + x z)
    """
    p, q, v = params.p, params.q, params.v
    x, z = frequency, monetary
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(z)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * z)
    )


def gradient(params: GammaGammaParameters, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """Each customer's d ln L / d(p, q, v), one row per customer (psi the digamma function):

    d/dp = x [psi(px+q) - psi(px) + ln z + ln x - ln(v + x z)]
    d/dq = psi(px+q) - psi(q) + ln v - ln(v + x z)
    d/dv = q/v - (px+q)/(v + x z)
    """
    p, q, v = params.p, params.q, params.v
    x, z = frequency, monetary
    both = digamma(p * x + q)
    return np.column_stack(
        [
            x * (both - digamma(p * x) + np.log(z) + np.log(x) - np.log(v + x * z)),
            both - digamma(q) + np.log(v) - np.log(v + x * z),
            q / v - (p * x + q) / (v + x * z),
        ]
    )


def usable(frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """Who the model can learn from: at least one repeat transaction, worth more than nothing."""
    return (frequency > 0) & (monetary > 0)


def fit(frequency: np.ndarray, monetary: np.ndarray) -> GammaGammaParameters:
    """Maximum-likelihood (p, q, v) over the customers with repeat transactions of positive value."""
    keep = usable(frequency, monetary)
    x, z = frequency[keep], monetary[keep]

    def negative_mean(params: np.ndarray) -> tuple[float, np.ndarray]:
        model = GammaGammaParameters(*params)
        return -float(np.mean(log_likelihood(model, x, z))), -gradient(model, x, z).mean(axis=0)

    best = fit_log_parameters(negative_mean, 3)
    params = GammaGammaParameters(*(float(v) for v in best)) if best is not None else None
    if params is None or params.q <= 1:
        raise FitFailed(
            "The Gamma-Gamma fit found no finite mean order value (q <= 1): order values are too "
            "spread out for the model. Check for test orders or wrong amounts.",
            details={"model": "gamma_gamma", **(params.as_dict() if params else {})},
        )
    return params


def expected_order_value(params: GammaGammaParameters, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """E[Z | p, q, v, z-bar, x] (Fader & Hardie 2013): a weighted mean of the population's and her own

    (q - 1) / (px + q - 1) * p v / (q - 1)  +  px / (px + q - 1) * z-bar

    With x = 0 that is the population mean p v / (q - 1).
    """
    p, q = params.p, params.q
    x = frequency
    own_weight = p * x / (p * x + q - 1)
    return (1 - own_weight) * params.population_mean + own_weight * np.where(x > 0, monetary, 0.0)


def frequency_value_correlation(frequency: np.ndarray, monetary: np.ndarray) -> float | None:
    """Pearson correlation of x and z-bar among repeat customers; near 0 is what the model assumes."""
    keep = usable(frequency, monetary)
    if keep.sum() < 3 or np.std(frequency[keep]) == 0 or np.std(monetary[keep]) == 0:
        return None
    return float(np.corrcoef(frequency[keep], monetary[keep])[0, 1])
