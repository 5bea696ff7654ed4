"""Errors of reports: stable codes the API renders as its envelope and the CLI prints (exit 2)."""

from __future__ import annotations

from typing import Any

from siyu.analytics.mirror_errors import AnalyticsError


class ReportError(AnalyticsError):
    code = "reports.invalid"
    status = 400


class UnknownReport(ReportError):
    """No report has this name; ``details.known`` lists those that do."""

    code = "reports.unknown_report"
    status = 404


class InvalidParameter(ReportError):
    """A parameter is missing, malformed or out of range; ``details.parameter`` names it."""

    code = "reports.invalid_parameter"
    status = 400

    def __init__(self, parameter: str, message: str, **details: Any) -> None:
        super().__init__(message, details={"parameter": parameter, **details})
