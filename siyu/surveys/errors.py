"""The surveys capability's errors, each with a stable code."""

from __future__ import annotations

from siyu.errors import SiyuError


class SurveyError(SiyuError):
    code = "surveys.invalid"
    status = 422


class SurveyNotFound(SurveyError):
    code = "surveys.not_found"
    status = 404


class AnswerClosed(SurveyError):
    """A re-answer after the window, or an answer to a closed survey."""

    code = "surveys.answer_closed"
    status = 409
