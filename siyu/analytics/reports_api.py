"""``/api/reports/...``: reports over the analytics mirror, as JSON or, with ``?format=csv|xlsx``, as a file.

Each route takes its parameters as plain strings and hands them to the report's parser in
:mod:`siyu.analytics.reports.models` — the one the CLI uses — so both refuse the same input with the
same ``reports.invalid_parameter`` error. Reading a report needs ``profiles:read``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from siyu import clock
from siyu.analytics.reports import models, spend_store
from siyu.analytics.reports.errors import UnknownReport
from siyu.analytics.reports.export import MEDIA_TYPES, ReportTable, export
from siyu.analytics.reports.models import ExportFormat
from siyu.analytics.reports.run import REPORT_NAMES, envelope, report_context, run_report
from siyu.analytics.reports.run import Query as ReportQuery
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
# Spend is outside data entered by hand, like an import: the role that may import may enter it
# (here and in the console's spend form).
SPEND_PERMISSION = Permission.IMPORTS_WRITE
SpendWriter = Annotated[Principal, Depends(require(SPEND_PERMISSION))]
From = Annotated[str | None, Query(alias="from", max_length=20, description="First local day, YYYY-MM-DD.")]
To = Annotated[str | None, Query(alias="to", max_length=20, description="Last local day (included); today if omitted.")]
Format = Annotated[str | None, Query(alias="format", max_length=8, description="json (default), csv or xlsx.")]


def _answer(request: Request, caller: Principal, build: Any, fmt_text: str | None) -> Response:
    fmt = models.parse_format(fmt_text)
    context = report_context(runtime_of(request), caller.workspace_id)
    query: ReportQuery = build(context.today)
    report = run_report(context, query)
    body = envelope(context, query, report)
    if fmt is ExportFormat.JSON:
        return JSONResponse(body)
    name = body["report"]
    return file_response(report.table(), fmt, name, f"{name}-{body['query']['from']}-{body['query']['to']}")


def file_response(table: ReportTable, fmt: ExportFormat, title: str, stem: str) -> Response:
    """``table`` as a CSV or XLSX download named ``<stem>.csv|xlsx``: every ``?format=`` export answers with it."""
    return Response(
        export(table, fmt, title),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt.value}"'},
    )


@router.get("/retention", summary="Retention cohorts: who came back on (and on or after) each period")
def retention(
    request: Request,
    caller: Reader,
    start: From = None,
    end: To = None,
    period: Annotated[str | None, Query(max_length=10, description="day, week (default) or month.")] = None,
    event: Annotated[str | None, Query(max_length=300, description="Returning event; any if omitted.")] = None,
    breakdown: Annotated[str | None, Query(max_length=20, description="'channel' or omitted.")] = None,
    fmt: Format = None,
) -> Response:
    return _answer(
        request,
        caller,
        lambda today: models.parse_retention(
            start=start, end=end, period=period, event=event, breakdown=breakdown, today=today
        ),
        fmt,
    )


@router.get("/funnel", summary="Funnel: people through 2-10 ordered steps within a conversion window")
def funnel(
    request: Request,
    caller: Reader,
    start: From = None,
    end: To = None,
    step: Annotated[
        list[str] | None,
        Query(max_length=300, description="Repeat 2-10 times, in order: 'Event Name' or 'Event Name|property=value'."),
    ] = None,
    window: Annotated[
        str | None, Query(max_length=10, description="Conversion window from step 1: 7d (default), 36h.")
    ] = None,
    breakdown: Annotated[str | None, Query(max_length=80, description="'channel' or 'trait:<name>'.")] = None,
    fmt: Format = None,
) -> Response:
    return _answer(
        request,
        caller,
        lambda today: models.parse_funnel(
            start=start, end=end, steps=step or [], window=window, breakdown=breakdown, today=today
        ),
        fmt,
    )


@router.get("/activity", summary="DAU, rolling 7-day WAU and rolling 30-day MAU per day, and stickiness")
def activity(
    request: Request,
    caller: Reader,
    start: From = None,
    end: To = None,
    event: Annotated[str | None, Query(max_length=300, description="Count only this event; any if omitted.")] = None,
    fmt: Format = None,
) -> Response:
    return _answer(
        request, caller, lambda today: models.parse_activity(start=start, end=end, event=event, today=today), fmt
    )


@router.get("/revenue", summary="Revenue, orders, buyers and average order value per day, week or month")
def revenue(
    request: Request,
    caller: Reader,
    start: From = None,
    end: To = None,
    period: Annotated[str | None, Query(max_length=10, description="day (default), week or month.")] = None,
    fmt: Format = None,
) -> Response:
    return _answer(
        request, caller, lambda today: models.parse_revenue(start=start, end=end, period=period, today=today), fmt
    )


@router.get("/repurchase", summary="Repurchase rate: buyers with two order days or more, by first-order month")
def repurchase(request: Request, caller: Reader, start: From = None, end: To = None, fmt: Format = None) -> Response:
    return _answer(request, caller, lambda today: models.parse_repurchase(start=start, end=end, today=today), fmt)


@router.get("/channels", summary="New customers per channel: 30-day retention, 90-day revenue, cost per customer")
def channels(request: Request, caller: Reader, start: From = None, end: To = None, fmt: Format = None) -> Response:
    return _answer(request, caller, lambda today: models.parse_channels(start=start, end=end, today=today), fmt)


@router.get("/aarrr", summary="AARRR overview: acquisition, activation, retention, revenue, referral")
def aarrr(request: Request, caller: Reader, start: From = None, end: To = None, fmt: Format = None) -> Response:
    return _answer(request, caller, lambda today: models.parse_overview(start=start, end=end, today=today), fmt)


class SpendIn(BaseModel):
    channel: Annotated[str, Field(min_length=1, max_length=100, description="As sent in context.campaign.source.")]
    month: Annotated[str, Field(min_length=7, max_length=7, description="YYYY-MM")]
    amount: Annotated[float, Field(description="What the channel cost that month, in CNY.")]


@router.put("/channel-spend", summary="Enter (or replace) a channel's spend for a month, for cost per customer")
def put_channel_spend(request: Request, caller: SpendWriter, body: SpendIn) -> dict[str, Any]:
    entry = models.parse_spend(channel=body.channel, month=body.month, amount=body.amount)
    with write(runtime_of(request).engine) as conn:
        return spend_store.set_channel_spend(conn, caller.workspace_id, entry, clock.now())


@router.get("/channel-spend", summary="The spend entered per channel and month")
def get_channel_spend(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return spend_store.list_channel_spend(conn, caller.workspace_id)


@router.delete("/channel-spend", summary="Remove a channel's spend for a month")
def delete_channel_spend(
    request: Request,
    caller: SpendWriter,
    channel: Annotated[str, Query(max_length=1000, description="As entered.")],
    month: Annotated[str, Query(max_length=100, description="YYYY-MM")],
) -> dict[str, Any]:
    """``deleted`` is false when there was nothing to remove, so a repeated delete is not an error."""
    # The channel and month are checked as when they were entered (the amount plays no part here).
    entry = models.parse_spend(channel=channel, month=month, amount=0.0)
    with write(runtime_of(request).engine) as conn:
        deleted = spend_store.delete_channel_spend(conn, caller.workspace_id, entry.channel, entry.month)
    return {"channel": entry.channel, "month": entry.month, "deleted": deleted}


@router.get("/{name}", summary="Any other name: a reports.unknown_report error listing the reports")
def unknown(caller: Reader, name: Annotated[str, Path(max_length=100)]) -> dict[str, Any]:
    raise UnknownReport(
        f"There is no report named {name!r}; the reports are: {', '.join(REPORT_NAMES)}.",
        details={"known": list(REPORT_NAMES)},
    )
