"""``siyu reports <name> --workspace W``: the reports from the command line, as a table, JSON or a file.

``--format csv|xlsx --output FILE`` writes what the console's export links download (CSV may go to
stdout without ``--output``). Bad parameters print the same message as the API's error and exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

reports_app = typer.Typer(
    help="Reports (报表): retention, funnels, active people, revenue, channels, AARRR.", no_args_is_help=True
)
app.add_typer(reports_app, name="reports")

From = Annotated[str | None, typer.Option("--from", help="First local day, YYYY-MM-DD.")]
To = Annotated[str | None, typer.Option("--to", help="Last local day (included); today if omitted.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FormatOption = Annotated[str | None, typer.Option("--format", help="Write a file instead: csv or xlsx.")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File to write (--format).")]


def _run(workspace: str, build: Any, as_json: bool, fmt_text: str | None, output: Path | None) -> None:
    from siyu.analytics.reports.export import export
    from siyu.analytics.reports.models import ExportFormat, parse_format
    from siyu.analytics.reports.run import envelope, report_context, run_report
    from siyu.db.engine import read
    from siyu.workspaces import store

    if fmt_text is None and output is not None:
        fmt_text = output.suffix.lstrip(".") or None
        if fmt_text not in ("csv", "xlsx"):
            raise fail(f"Cannot tell the format of {output}: add --format csv or --format xlsx.")
    fmt = parse_format(fmt_text)
    if fmt is ExportFormat.XLSX and output is None:
        raise fail("--format xlsx writes a binary file: add --output FILE.xlsx.")
    rt = runtime()
    with read(rt.engine) as conn:
        workspace_id = store.get_workspace(conn, workspace).id
    context = report_context(rt, workspace_id)
    query = build(context.today)
    report = run_report(context, query)
    body = envelope(context, query, report)
    if fmt is not ExportFormat.JSON:
        data = export(report.table(), fmt, body["report"])
        if output is None:
            sys.stdout.buffer.write(data)
            return
        output.write_bytes(data)
        out.print(f"wrote {output} ({len(report.table().rows):,} rows)")
        return
    if as_json:
        sys.stdout.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
        return
    shown = report.display()
    table = Table(
        *shown.columns, title=f"{body['report']} {body['query']['from']} .. {body['query']['to']} ({context.timezone})"
    )
    for row in shown.rows:
        table.add_row(*["" if value is None else str(value) for value in row])
    out.print(table)


@reports_app.command("retention")
@handles_errors
def retention(
    workspace: WorkspaceOption,
    start: From = None,
    end: To = None,
    period: Annotated[str, typer.Option(help="Cohort period: day, week or month.")] = "week",
    event: Annotated[str | None, typer.Option(help="Returning event (e.g. 'Order Completed'); any if omitted.")] = None,
    breakdown: Annotated[str | None, typer.Option(help="'channel': one row per acquisition channel.")] = None,
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Retention cohorts by first-seen period: returned on, and on or after, each later period."""
    from siyu.analytics.reports.models import parse_retention

    _run(
        workspace,
        lambda today: parse_retention(
            start=start, end=end, period=period, event=event, breakdown=breakdown, today=today
        ),
        as_json,
        fmt,
        output,
    )


@reports_app.command("funnel")
@handles_errors
def funnel(
    workspace: WorkspaceOption,
    step: Annotated[
        list[str],
        typer.Option("--step", help="A step, 2-10 times in order: 'Event Name' or 'Event Name|property=value'."),
    ],
    start: From = None,
    end: To = None,
    window: Annotated[str, typer.Option(help="Conversion window from step 1, e.g. 7d or 36h.")] = "7d",
    breakdown: Annotated[str | None, typer.Option(help="'channel' or 'trait:<name>'.")] = None,
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Funnel: of the people who did step 1 in the range, how many did each next step in order."""
    from siyu.analytics.reports.models import parse_funnel

    _run(
        workspace,
        lambda today: parse_funnel(start=start, end=end, steps=step, window=window, breakdown=breakdown, today=today),
        as_json,
        fmt,
        output,
    )


@reports_app.command("activity")
@handles_errors
def activity(
    workspace: WorkspaceOption,
    start: From = None,
    end: To = None,
    event: Annotated[str | None, typer.Option(help="Count only people who did this event; any if omitted.")] = None,
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Active people per day: DAU, WAU (rolling 7 days), MAU (rolling 30 days) and DAU/MAU."""
    from siyu.analytics.reports.models import parse_activity

    _run(workspace, lambda today: parse_activity(start=start, end=end, event=event, today=today), as_json, fmt, output)


@reports_app.command("revenue")
@handles_errors
def revenue(
    workspace: WorkspaceOption,
    start: From = None,
    end: To = None,
    period: Annotated[str, typer.Option(help="day, week or month.")] = "day",
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Private-domain revenue: revenue, orders, buyers and average order value per period."""
    from siyu.analytics.reports.models import parse_revenue

    _run(workspace, lambda today: parse_revenue(start=start, end=end, period=period, today=today), as_json, fmt, output)


@reports_app.command("repurchase")
@handles_errors
def repurchase(
    workspace: WorkspaceOption,
    start: From = None,
    end: To = None,
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """Repurchase rate by first-order month: buyers who ordered on two days or more."""
    from siyu.analytics.reports.models import parse_repurchase

    _run(workspace, lambda today: parse_repurchase(start=start, end=end, today=today), as_json, fmt, output)


@reports_app.command("channels")
@handles_errors
def channels(
    workspace: WorkspaceOption,
    start: From = None,
    end: To = None,
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """New customers per acquisition channel: 30-day retention, 90-day revenue, cost per customer."""
    from siyu.analytics.reports.models import parse_channels

    _run(workspace, lambda today: parse_channels(start=start, end=end, today=today), as_json, fmt, output)


@reports_app.command("set-spend")
@handles_errors
def set_spend(
    workspace: WorkspaceOption,
    channel: Annotated[str, typer.Option(help="The channel, as sent in context.campaign.source (e.g. douyin).")],
    month: Annotated[str, typer.Option(help="The calendar month, YYYY-MM.")],
    amount: Annotated[float, typer.Option(help="What the channel cost that month, in CNY.")],
) -> None:
    """Enter (or replace) what a channel cost in a month: the channel report's cost per customer."""
    from siyu import clock
    from siyu.analytics.reports.models import parse_spend
    from siyu.analytics.reports.spend_store import set_channel_spend
    from siyu.db.engine import write
    from siyu.workspaces import store

    entry = parse_spend(channel=channel, month=month, amount=amount)
    with write(runtime().engine) as conn:
        workspace_id = store.get_workspace(conn, workspace).id
        saved = set_channel_spend(conn, workspace_id, entry, clock.now())
    out.print(f"{saved['channel']} {saved['month']}: {saved['amount']:,.2f} {saved['currency']}")


@reports_app.command("aarrr")
@handles_errors
def aarrr(
    workspace: WorkspaceOption,
    start: From = None,
    end: To = None,
    as_json: JsonOption = False,
    fmt: FormatOption = None,
    output: OutputOption = None,
) -> None:
    """AARRR overview: new customers, activation in 7 days, 30-day retention, revenue, accepted invitations."""
    from siyu.analytics.reports.models import parse_overview

    _run(workspace, lambda today: parse_overview(start=start, end=end, today=today), as_json, fmt, output)
