"""Console pages for offers (券与奖励): the list with claimed, redeemed and remaining, the create form,
and one offer with its figures per day and its latest claims.

The pages read through the offers capability; creating and ending an offer are done by the page's
script through ``POST /api/offers`` and ``POST /api/offers/{id}/end`` with the console session and its
CSRF token, so the template is checked by the capability's own rules and a refusal (``offers.invalid``
with ``details.field``) is shown beside the field it names. Roles without ``segments:manage``
(analyst, staff) see the offers but neither the form nor the buttons.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.offers import store
from siyu.offers.errors import OfferNotFound
from siyu.offers.figures import offer_figures
from siyu.offers.models import OfferKind
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
OfferId = Annotated[int, Path(ge=1, le=2**62)]
MANAGE_PERMISSION = Permission.SEGMENTS_MANAGE  # the API's for creating and ending offers
LATEST_CLAIMS = 50


def may_manage(console: Console) -> bool:
    return MANAGE_PERMISSION in ROLE_PERMISSIONS[console.role]


def may_export(console: Console) -> bool:
    return Permission.EXPORT in ROLE_PERMISSIONS[console.role]


@router.get("/offers", response_class=HTMLResponse)
def offers_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        listed = store.list_offers(conn, console.workspace.id)
    return _page(request, "offers.html", console, offers=listed, may_manage=may_manage(console))


@router.get("/offers/new", response_class=HTMLResponse)
def new_offer_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    allowed = may_manage(console)
    return _page(request, "offer_new.html", console, status=200 if allowed else 403, may_manage=allowed,
                 kinds=[k.value for k in OfferKind], data={"csrf": console.csrf})


@router.get("/offers/{offer_id}", response_class=HTMLResponse)
def offer_page(request: Request, offer_id: OfferId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    try:
        with read(runtime_of(request).engine) as conn:
            offer = store.get_offer(conn, workspace_id, offer_id)
            figures = offer_figures(conn, workspace_id, offer, timezone=console.workspace.timezone, now=clock.now())
            claims = store.list_claims(conn, workspace_id, offer_id=offer_id, limit=LATEST_CLAIMS)
            budget = next((b for b in store.list_budgets(conn, workspace_id)
                           if b["campaign_id"] == offer.campaign_id), None)
    except OfferNotFound:  # another workspace's id, or none at all
        return _page(request, "not_found.html", console, status=404)
    chart = {"type": "bar", "labels": [d["day"] for d in figures["per_day"]],
             "series": [{"code": "claimed", "values": [d["claimed"] for d in figures["per_day"]]},
                        {"code": "redeemed", "values": [d["redeemed"] for d in figures["per_day"]]}]}
    return _page(request, "offer.html", console, offer=offer, figures=figures, claims=claims, budget=budget,
                 chart=chart, may_manage=may_manage(console), may_export=may_export(console),
                 data={"csrf": console.csrf})
