"""Errors of customer value (CLV): stable codes the API and the CLI show as they are."""

from __future__ import annotations

from siyu.errors import SiyuError


class ClvError(SiyuError):
    """Bad options for a fit (``clv.invalid_date``, ``clv.invalid_time_unit``, ``clv.invalid_option``)."""

    code = "clv.invalid"
    status = 400


class NotEnoughData(ClvError):
    """Too few customers (or repeat customers) for the models to say anything."""

    code = "clv.not_enough_data"
    status = 422


class FitFailed(ClvError):
    """The optimiser found no usable estimate (for instance Gamma-Gamma q <= 1: no finite mean spend)."""

    code = "clv.fit_failed"
    status = 422


class ClvNotFound(ClvError):
    code = "clv.not_found"
    status = 404
