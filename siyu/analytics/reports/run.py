"""Running a report: sync the workspace's mirror, open an engine over it, ask the report's store, shape the answer.

Every run syncs first (a few milliseconds when nothing is new), so a report includes every event
committed before it started — late ones with old timestamps too: the mirror follows the log by
insertion id, and reports filter on ``timestamp``. The same sync brings the mirror's aggregates up
to the same events, so reports that read them (retention, activity, channels, AARRR, repurchase,
a funnel by channel) answer as over raw events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, assert_never
from zoneinfo import ZoneInfo

from siyu import clock
from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import sync
from siyu.analytics.reports import (
    aarrr_store,
    activity_store,
    channel_store,
    funnel_store,
    repurchase_store,
    retention_store,
    revenue_store,
    spend_store,
)
from siyu.analytics.reports.aarrr import build_overview
from siyu.analytics.reports.activity import build_activity
from siyu.analytics.reports.calendar import Period
from siyu.analytics.reports.channels import build_channels, months_of
from siyu.analytics.reports.export import ReportTable
from siyu.analytics.reports.funnel import build_funnel
from siyu.analytics.reports.models import (
    ActivityQuery,
    ChannelQuery,
    FunnelQuery,
    OverviewQuery,
    RepurchaseQuery,
    RetentionQuery,
    RevenueQuery,
)
from siyu.analytics.reports.repurchase import build_repurchase
from siyu.analytics.reports.retention import build_retention
from siyu.analytics.reports.revenue import build_revenue
from siyu.db.engine import read
from siyu.db.types import to_millis
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

# Every report by the name the API path, the CLI command and the console page use.
REPORT_NAMES = ("aarrr", "retention", "funnel", "activity", "revenue", "repurchase", "channels")
Query = RetentionQuery | FunnelQuery | ActivityQuery | RevenueQuery | RepurchaseQuery | ChannelQuery | OverviewQuery


class Report(Protocol):
    def as_dict(self) -> dict[str, Any]: ...

    def table(self) -> ReportTable: ...

    def display(self) -> ReportTable: ...


@dataclass(frozen=True)
class ReportContext:
    runtime: Runtime
    workspace_id: int
    timezone: str
    now: datetime
    # False: read raw events only, never the mirror's aggregates — the reference they are tested against.
    use_aggregates: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def today(self) -> date:
        """Today in the workspace's time zone: the default end of every range."""
        return self.now.astimezone(self.zone).date()


def report_context(runtime: Runtime, workspace_id: int) -> ReportContext:
    with read(runtime.engine) as conn:
        timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    return ReportContext(runtime, workspace_id, timezone, clock.now())


def run_report(context: ReportContext, query: Query) -> Report:
    spend: dict[str, float] = {}
    if isinstance(query, ChannelQuery):  # entered by hand in the operational store, not mirrored
        with read(context.runtime.engine) as conn:
            spend = spend_store.spend_by_channel(conn, context.workspace_id, months_of(query.range))
    sync(context.runtime, context.workspace_id)
    now_ms = to_millis(context.now)
    with open_engine(context.runtime, context.workspace_id, use_aggregates=context.use_aggregates) as engine:
        # DuckDB draws a progress bar on stdout for queries over 2 s: it would corrupt `--json` output.
        engine.execute("SET enable_progress_bar = false")
        match query:
            case RetentionQuery():
                counts = retention_store.retention_counts(engine, context.workspace_id, query, context.zone)
                return build_retention(query, counts, context.zone, now_ms)
            case FunnelQuery():
                return build_funnel(
                    query, funnel_store.funnel_counts(engine, context.workspace_id, query, context.zone)
                )
            case ActivityQuery():
                changes = activity_store.active_day_changes(engine, context.workspace_id, query, context.zone)
                return build_activity(query, changes)
            case RevenueQuery():
                by_period, total_revenue = revenue_store.revenue_by_period(
                    engine, context.workspace_id, query.range, query.period, context.zone
                )
                return build_revenue(query, by_period, total_revenue)
            case RepurchaseQuery():
                cohorts, all_buyers = repurchase_store.repurchase_cohorts(
                    engine, context.workspace_id, query, context.zone
                )
                return build_repurchase(query, cohorts, all_buyers)
            case ChannelQuery():
                figures, total, _ = channel_store.new_customer_figures(
                    engine, context.workspace_id, query.range, context.zone, context.now
                )
                return build_channels(query, figures, total, spend)
            case OverviewQuery():
                figures, total, activated = channel_store.new_customer_figures(
                    engine, context.workspace_id, query.range, context.zone, context.now
                )
                _, revenue = revenue_store.revenue_by_period(
                    engine, context.workspace_id, query.range, Period.MONTH, context.zone
                )
                referrals = aarrr_store.referral_figures(engine, context.workspace_id, query.range, context.zone)
                return build_overview(query, figures, total, activated, revenue, referrals)
            case _:
                assert_never(query)


def report_name(query: Query) -> str:
    match query:
        case RetentionQuery():
            return "retention"
        case FunnelQuery():
            return "funnel"
        case ActivityQuery():
            return "activity"
        case RevenueQuery():
            return "revenue"
        case RepurchaseQuery():
            return "repurchase"
        case ChannelQuery():
            return "channels"
        case OverviewQuery():
            return "aarrr"
        case _:
            assert_never(query)


def envelope(context: ReportContext, query: Query, report: Report) -> dict[str, Any]:
    """The JSON answer: what was asked, in which time zone, when, and the figures."""
    return {
        "report": report_name(query),
        "timezone": context.timezone,
        "generated_at": context.now.isoformat(),
        "query": query.as_dict(),
        **report.as_dict(),
    }
