"""The payments capability's errors, each with a stable code."""

from __future__ import annotations

from siyu.errors import SiyuError


class PaymentsError(SiyuError):
    code = "payments.invalid"
    status = 422


class RewardNotFound(PaymentsError):
    code = "payments.not_found"
    status = 404


class PaymentsNotConfigured(PaymentsError):
    """The workspace has no payment provider set up (``settings.payments.wechat_pay``)."""

    code = "payments.not_configured"
    status = 409
