"""Console pages for reports: a form, an ECharts chart, a table, and CSV / XLSX links to the API.

A page runs the same code as ``GET /api/reports/<name>`` (sync the mirror, then DuckDB) and its
export links point at that route with the page's own parameters plus ``format=``, so the download
is the API's, authorised by the console session. Bad parameters are shown on the page with the
API's message rather than as an error page, so the operator can correct the form. The channels page
also lists the channel spend entered, with the form of ``spend_routes`` for the roles that may enter it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from siyu.analytics.mirror_errors import AnalyticsError
from siyu.analytics.reports import models, spend_store
from siyu.analytics.reports.run import Query as ReportQuery
from siyu.analytics.reports.run import envelope, report_context, run_report
from siyu.analytics.reports_api import SPEND_PERMISSION
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.web.errors import ConsoleRoute
from siyu.web.i18n import term_label, translations
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
From = Annotated[str | None, Query(alias="from", max_length=20)]
To = Annotated[str | None, Query(alias="to", max_length=20)]
Short = Annotated[str | None, Query(max_length=20)]
Name = Annotated[str | None, Query(max_length=300)]
Chart = Callable[[dict[str, Any], Callable[[str], str]], dict[str, Any]]


def _show(
    request: Request,
    console: Console,
    template: str,
    build: Callable[[date], ReportQuery],
    chart: Chart,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    extra = extra or {}
    context = report_context(runtime_of(request), console.workspace.id)
    # Single-valued parameters echoed into the form; repeated ones (funnel steps) come in ``extra``.
    values = {key: value for key, value in request.query_params.items() if key not in ("format", "step")}
    gettext = translations(console.locale).gettext
    try:
        query = build(context.today)
        body = envelope(context, query, run_report(context, query))
    except AnalyticsError as error:  # bad parameters, or the mirror is busy: said on the page
        status = error.status if error.status < 500 else 503
        return _page(
            request,
            template,
            console,
            status=status,
            error=error.message,
            values=values,
            body=None,
            chart=None,
            exports={},
            **extra,
        )
    values |= {key: value for key, value in body["query"].items() if isinstance(value, str)}
    pairs = [(key, value) for key, value in values.items() if value] + [("step", s) for s in extra.get("steps", [])]
    exports = {fmt: f"/api/reports/{body['report']}?{urlencode([*pairs, ('format', fmt)])}" for fmt in ("csv", "xlsx")}
    return _page(
        request,
        template,
        console,
        status=status,
        error=None,
        values=values,
        body=body,
        chart=chart(body, gettext),
        exports=exports,
        **extra,
    )


def overview_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """The pirate funnel: one bar per stage that counts people, with its rate."""
    stages = {s["measure"]: s for s in body["stages"]}
    shown = ("new_customers", "first_order_within_7_days", "returned_within_30_days", "buyers", "invites_accepted")
    return {
        "kind": "overview",
        "measures": list(shown),
        "values": [stages[m]["value"] for m in shown],
        "rates": [_percent(stages[m]["rate"]) for m in shown],
    }


@router.get("/reports")
def overview_page(request: Request, start: From = None, end: To = None) -> Response:
    """The AARRR overview, with the workspace's current NPS beside it (surveys keep NPS; the card
    links to their pages), shown even when the report itself can't run."""
    from siyu.surveys.api import current_nps

    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        nps = current_nps(conn, console.workspace.id)
    return _show(
        request,
        console,
        "report_overview.html",
        lambda today: models.parse_overview(start=start, end=end, today=today),
        overview_chart,
        extra={"nps": nps},
    )


def _label(row: dict[str, Any], gettext: Callable[[str], str]) -> str:
    cohort = gettext("All cohorts") if row["cohort"] == "all" else row["cohort"]
    return cohort if row["breakdown"] is None else f"{cohort} · {term_label(row['breakdown'], gettext)}"


def retention_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """Heat-map cells ``[period, row, on %, on-or-after %, returned, on or after, people, incomplete]``."""
    rows = [*body["rows"], body["total"]]
    labels = [_label(row, gettext) for row in rows]
    cells = [
        [
            n,
            y,
            _percent(row["rate"][n]),
            _percent(row["on_or_after_rate"][n]),
            row["returned"][n],
            row["on_or_after"][n],
            row["people"],
            row["incomplete"][n],
        ]
        for y, row in enumerate(rows)
        for n in range(len(row["rate"]))
    ]
    return {"kind": "retention", "periods": body["periods"], "rows": labels, "cells": cells}


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@router.get("/reports/retention")
def retention_page(
    request: Request,
    start: From = None,
    end: To = None,
    period: Short = None,
    event: Name = None,
    breakdown: Short = None,
) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _show(
        request,
        console,
        "report_retention.html",
        lambda today: models.parse_retention(
            start=start, end=end, period=period, event=event, breakdown=breakdown, today=today
        ),
        retention_chart,
    )


DEFAULT_FUNNEL = ["Product Viewed", "Product Added", "Order Completed"]  # Segment's e-commerce spec


def funnel_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    """One bar series per breakdown value (or the total), with each step's conversion from step 1."""
    groups = body["breakdowns"] or [body["total"]]
    series = [
        {
            "name": gettext("All customers") if g["breakdown"] is None else term_label(g["breakdown"], gettext),
            "people": g["people"],
            "conversion": [_percent(c) for c in g["conversion"]],
        }
        for g in groups
    ]
    return {"kind": "funnel", "steps": [s["label"] for s in body["steps"]], "series": series}


@router.get("/reports/funnel")
def funnel_page(
    request: Request,
    start: From = None,
    end: To = None,
    step: Annotated[list[str] | None, Query(max_length=300)] = None,
    window: Short = None,
    breakdown: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    # The form has spare step boxes: blank ones are not steps. No steps at all: the e-commerce funnel.
    steps = [s for s in step or [] if s.strip()] if step is not None else DEFAULT_FUNNEL
    return _show(
        request,
        console,
        "report_funnel.html",
        lambda today: models.parse_funnel(
            start=start, end=end, steps=steps, window=window, breakdown=breakdown, today=today
        ),
        funnel_chart,
        extra={"steps": steps},
    )


def activity_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    days = body["days"]
    return {
        "kind": "activity",
        "days": [d["day"] for d in days],
        "series": {key: [d[key] for d in days] for key in ("dau", "wau", "mau")},
        "stickiness": [_percent(d["stickiness"]) for d in days],
    }


@router.get("/reports/activity")
def activity_page(request: Request, start: From = None, end: To = None, event: Name = None) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _show(
        request,
        console,
        "report_activity.html",
        lambda today: models.parse_activity(start=start, end=end, event=event, today=today),
        activity_chart,
    )


def revenue_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    rows = body["rows"]
    return {
        "kind": "revenue",
        "periods": [r["period"] for r in rows],
        "revenue": [r["revenue"] for r in rows],
        "orders": [r["orders"] for r in rows],
        "buyers": [r["buyers"] for r in rows],
    }


@router.get("/reports/revenue")
def revenue_page(request: Request, start: From = None, end: To = None, period: Short = None) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _show(
        request,
        console,
        "report_revenue.html",
        lambda today: models.parse_revenue(start=start, end=end, period=period, today=today),
        revenue_chart,
    )


def repurchase_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    rows = body["rows"]
    return {
        "kind": "repurchase",
        "months": [r["month"] for r in rows],
        "buyers": [r["buyers"] for r in rows],
        "repeat": [r["repeat_buyers"] for r in rows],
        "rate": [_percent(r["repurchase_rate"]) for r in rows],
    }


@router.get("/reports/repurchase")
def repurchase_page(request: Request, start: From = None, end: To = None) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _show(
        request,
        console,
        "report_repurchase.html",
        lambda today: models.parse_repurchase(start=start, end=end, today=today),
        repurchase_chart,
    )


def channels_chart(body: dict[str, Any], gettext: Callable[[str], str]) -> dict[str, Any]:
    rows = body["rows"]
    return {
        "kind": "channels",
        "channels": [term_label(r["channel"], gettext) for r in rows],
        "new": [r["new_customers"] for r in rows],
        "retention": [_percent(r["retention_30d"]) for r in rows],
        "cost": [r["cost_per_customer"] for r in rows],
        "revenue": [r["revenue_per_customer_90d"] for r in rows],
    }


@router.get("/reports/channels")
def channels_page(request: Request, start: From = None, end: To = None) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return show_channels(request, console, start, end)


# What the spend form says when it refuses an entry: the parameter (as in the API's
# ``reports.invalid_parameter``) or the authorisation code. msgids of the console catalogues.
SPEND_PROBLEMS = {
    "channel": "Enter the channel as it is sent in context.campaign.source (1 to 100 characters), e.g. douyin.",
    "month": "Enter the month as YYYY-MM, e.g. 2024-03.",
    "amount": "Enter the amount in yuan: a number from 0 to 1,000,000,000,000.",
    "auth.csrf": "This form has expired. Reload the page and try again.",
    "auth.forbidden": "Your role may not enter channel spend: it needs imports:write, as imports do.",
}


def may_enter_spend(console: Console) -> bool:
    return SPEND_PERMISSION in ROLE_PERMISSIONS[console.role]


def show_channels(
    request: Request,
    console: Console,
    start: str | None,
    end: str | None,
    *,
    status: int = 200,
    form: dict[str, str] | None = None,
    problem: str | None = None,
) -> Response:
    """The channel report with the spend entered, and the spend form (``spend_routes``) when the role
    may enter spend, holding ``form`` and saying ``problem`` after a refused entry."""
    with read(runtime_of(request).engine) as conn:
        entries = spend_store.list_channel_spend(conn, console.workspace.id)
    gettext = translations(console.locale).gettext
    spend = {
        "entries": entries,
        "may_enter": may_enter_spend(console),
        "form": form or {},
        "problem": problem,
        "code": None if problem is None else problem if problem.startswith("auth.") else "reports.invalid_parameter",
        "message": None if problem is None else gettext(SPEND_PROBLEMS[problem]),
        "range": {"from": start or "", "to": end or ""},
    }
    return _show(
        request,
        console,
        "report_channels.html",
        lambda today: models.parse_channels(start=start, end=end, today=today),
        channels_chart,
        extra={"spend": spend},
        status=status,
    )
