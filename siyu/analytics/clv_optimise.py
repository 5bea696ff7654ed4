"""Maximum likelihood on log-parameters, shared by the BG/NBD and Gamma-Gamma fits.

Every parameter of both models is positive, so the optimiser searches ln(parameter): any step is a
valid model, and parameters of very different scales (alpha in weeks or days, a near 0, b in the
thousands) get comparable steps. L-BFGS-B with the models' analytic gradients reproduces the
published CDNOW estimates to six significant figures in a few dozen evaluations. The box
|ln theta| <= 25 only stops a degenerate history (nobody ever drops out, say) from walking to
infinity: the fit then ends on the box, which still describes the data (a ~ 0: no dropout),
instead of overflowing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

LOG_BOUND = 25.0
# Returned for parameters where the likelihood is not finite: large, so the line search backs off.
NOT_FINITE = 1e300

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def fit_log_parameters(negative_mean_log_likelihood: Objective, size: int) -> np.ndarray | None:
    """The parameters (not their logs) minimising an objective that returns (value, gradient in the
    parameters), starting from all ones; None if no finite optimum was found."""

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            value, gradient = negative_mean_log_likelihood(params)
        gradient = np.asarray(gradient) * params  # d/d ln(theta) = theta d/d theta
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return NOT_FINITE, np.zeros(size)
        return value, gradient

    result = minimize(
        objective,
        np.zeros(size),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * size,
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5_000},
    )
    if not result.fun < NOT_FINITE or not np.all(np.isfinite(result.x)):
        return None
    return np.exp(result.x)
