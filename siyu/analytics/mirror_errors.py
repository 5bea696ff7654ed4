"""Errors of the analytics mirror and engine: stable codes the API and the CLI show as they are."""

from __future__ import annotations

from siyu.errors import SiyuError


class AnalyticsError(SiyuError):
    code = "analytics.error"
    status = 400


class MirrorBusy(AnalyticsError):
    """Another process held the mirror's lock for longer than the caller would wait."""

    code = "analytics.mirror_busy"
    status = 409


class MirrorCorrupt(AnalyticsError):
    """The manifest cannot be read or belongs to another workspace: `siyu analytics rebuild` repairs it."""

    code = "analytics.mirror_corrupt"
    status = 500
