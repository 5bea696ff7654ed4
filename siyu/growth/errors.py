"""The campaigns' errors, each with a stable code (``campaigns.*``)."""

from __future__ import annotations

from siyu.errors import SiyuError


class CampaignError(SiyuError):
    code = "campaigns.invalid"
    status = 422


class CampaignNotFound(CampaignError):
    code = "campaigns.not_found"
    status = 404


class InvalidRules(CampaignError):
    """The rules do not fit the campaign's kind; ``details.errors`` lists each problem and where."""

    code = "campaigns.invalid_rules"
    status = 422


class NotLive(CampaignError):
    """Participation outside the campaign's window or status."""

    code = "campaigns.not_live"
    status = 409
