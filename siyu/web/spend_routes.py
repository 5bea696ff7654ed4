"""The channel spend form (渠道花费) on the channels report: enter or replace a month's spend, remove one.

It follows ``PUT`` / ``DELETE /api/reports/channel-spend``: the values are checked by the same
``models.parse_spend``, the role needs the same permission (``SPEND_PERMISSION``, imports:write), and
every form carries the session's CSRF token. A refused entry shows the channels page again, 4xx, with
the form as typed and the reason beside it; an accepted one redirects back to the report (POST,
redirect, GET), which then shows the channel's cost per customer.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from siyu import clock
from siyu.analytics.reports import models, spend_store
from siyu.analytics.reports.errors import InvalidParameter
from siyu.api.auth import runtime_of
from siyu.db.engine import write
from siyu.web.errors import ConsoleRoute
from siyu.web.report_routes import may_enter_spend, show_channels
from siyu.web.session import Console, csrf_ok, current, login_redirect

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
# Generous limits: an over-long value is refused by parse_spend with a message in the form, not by
# request validation with an error page.
Text = Annotated[str, Form(max_length=1000)]
Day = Annotated[str, Form(alias="from", max_length=20)]
LastDay = Annotated[str, Form(alias="to", max_length=20)]


def _amount(text: str) -> float:
    """What an operator types: ``12000``, ``12,000`` or ``12，000.50``."""
    try:
        return float(text.replace(",", "").replace("，", "").strip())
    except ValueError:
        raise InvalidParameter("amount", f"amount must be a number, not {text!r}.", value=text) from None


def _refusal(request: Request, console: Console, csrf: str) -> str | None:
    if not csrf_ok(request, csrf):
        return "auth.csrf"
    return None if may_enter_spend(console) else "auth.forbidden"


def _back(start: str, end: str) -> RedirectResponse:
    query = urlencode([(key, value) for key, value in (("from", start), ("to", end)) if value])
    return RedirectResponse(f"/reports/channels{'?' + query if query else ''}#channel-spend", status_code=303)


@router.post("/reports/channels/spend")
def enter_spend(request: Request, channel: Text = "", month: Text = "", amount: Text = "", csrf: Text = "",
                start: Day = "", end: LastDay = "") -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    form = {"channel": channel, "month": month, "amount": amount}
    refused = _refusal(request, console, csrf)
    if refused:
        return show_channels(request, console, start or None, end or None, status=403, form=form, problem=refused)
    try:
        entry = models.parse_spend(channel=channel, month=month, amount=_amount(amount))
    except InvalidParameter as error:
        return show_channels(request, console, start or None, end or None, status=400, form=form,
                         problem=error.details["parameter"])
    with write(runtime_of(request).engine) as conn:
        spend_store.set_channel_spend(conn, console.workspace.id, entry, clock.now())
    return _back(start, end)


@router.post("/reports/channels/spend/delete")
def delete_spend(request: Request, channel: Text = "", month: Text = "", csrf: Text = "", start: Day = "",
                 end: LastDay = "") -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    refused = _refusal(request, console, csrf)
    if refused:
        return show_channels(request, console, start or None, end or None, status=403, problem=refused)
    try:
        entry = models.parse_spend(channel=channel, month=month, amount=0.0)
    except InvalidParameter as error:
        return show_channels(request, console, start or None, end or None, status=400,
                         problem=error.details["parameter"])
    with write(runtime_of(request).engine) as conn:
        spend_store.delete_channel_spend(conn, console.workspace.id, entry.channel, entry.month)
    return _back(start, end)
