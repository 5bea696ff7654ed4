"""The one query the AARRR overview adds to the channel and revenue stores: accepted invitations."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from siyu.analytics.engine import AnalyticsEngine
from siyu.analytics.reports.aarrr import REFERRAL_EVENT
from siyu.analytics.reports.models import DateRange


def referral_figures(engine: AnalyticsEngine, workspace_id: int, span: DateRange, zone: ZoneInfo) -> tuple[int, int]:
    """(``Invite Accepted`` events in the range, distinct people who sent them)."""
    sql = """
        SELECT count(*), count(DISTINCT profile_id)
        FROM events
        WHERE workspace_id = :workspace_id AND name = :referral AND timestamp >= :start_ms AND timestamp < :end_ms"""
    parameters = {
        "workspace_id": workspace_id,
        "referral": REFERRAL_EVENT,
        "start_ms": span.start_ms(zone),
        "end_ms": span.end_ms(zone),
    }
    invites, people = tuple(engine.execute(sql, parameters).one())
    return int(invites), int(people)
