"""Console pages for fission campaigns (裂变活动): the list, the editor (rules checked as you go, with
the compliance findings and their reasons), and one campaign's dashboard (figures, a funnel chart,
the live ranking, latest invites with their anti-fraud verdicts).

The pages read through the campaigns capability; saving, checking, launching and ending are done by
the page's script through ``/api/campaigns…`` with the console session and its CSRF token, so the
console and the API refuse the same things with the same codes. Roles without ``messages:send`` see
the campaigns but neither the editor nor the buttons.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.growth import store
from siyu.growth.compliance import check_rules
from siyu.growth.errors import CampaignNotFound
from siyu.growth.measurement import measure
from siyu.growth.models import CampaignKind
from siyu.growth.settle import standings
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import Console, current, login_redirect
from siyu.workspaces.models import ROLE_PERMISSIONS, Permission

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
CampaignId = Annotated[int, Path(ge=1, le=2**62)]
MANAGE_PERMISSION = Permission.MESSAGES_SEND  # the API's for creating, launching and ending campaigns

# What the editor's rules box starts with for each kind (the description is edited in its own fields).
STARTER_RULES: dict[str, dict[str, Any]] = {
    "referral": {"inviter_reward": {"offer_id": None, "cost_fen": 500}, "invitee_reward": {"offer_id": None,
                 "cost_fen": 300}, "attribution_days": 7, "qualifying": "first_order", "new_customers_only": True},
    "assist": {"helpers_needed": 3, "helper_eligibility": "anyone", "reward": {"offer_id": None, "cost_fen": 1000}},
    "task_unlock": {"tiers": [{"threshold": 3, "stock": 100, "reward": {"cost_fen": 500}},
                              {"threshold": 10, "stock": 20, "reward": {"cost_fen": 3000}}]},
    "leaderboard": {"prizes": [{"rank_from": 1, "rank_to": 1, "reward": {"cost_fen": 10000}},
                               {"rank_from": 2, "rank_to": 10, "reward": {"cost_fen": 2000}}]},
    "group_buy": {"group_size": 3, "time_limit_hours": 24, "list_price_fen": 9900, "leader_price_fen": 4900,
                  "member_price_fen": 5900},
    "bargain": {"start_price_fen": 19900, "target_price_fen": 990, "expected_helpers": 8,
                "reward": {"offer_id": None}},
    "split_coupon": {"pool_fen": 5000, "claimers": 5, "minimum_fen": 100},
    "check_in": {"streak_rewards": {"3": {"cost_fen": 100}, "7": {"cost_fen": 500}}, "makeup_cards": 1},
}
EDITED_APART = ("description",)  # fields the editor shows on their own, not in the rules box


def may_manage(console: Console) -> bool:
    return MANAGE_PERMISSION in ROLE_PERMISSIONS[console.role]


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    with read(runtime_of(request).engine) as conn:
        listed = store.list_campaigns(conn, console.workspace.id)
    return _page(request, "campaigns.html", console, campaigns=listed, may_manage=may_manage(console))


def _editor(request: Request, console: Console, campaign: Any | None) -> Response:
    allowed = may_manage(console)
    if campaign is not None and campaign.status.value != "draft":
        allowed = False  # the rules its participants joined under stay as they were
    rules = dict(campaign.rules) if campaign else {}
    data = {"csrf": console.csrf, "starters": STARTER_RULES, "id": campaign.id if campaign else None,
            "kind": campaign.kind.value if campaign else "referral",
            "rules": {k: v for k, v in rules.items() if k not in EDITED_APART} if campaign else None,
            "locale": console.locale}
    zone = ZoneInfo(console.workspace.timezone)
    window = {"starts": f"{campaign.starts_at.astimezone(zone):%Y-%m-%dT%H:%M}",
              "ends": f"{campaign.ends_at.astimezone(zone):%Y-%m-%dT%H:%M}"} if campaign else {"starts": "", "ends": ""}
    return _page(request, "campaign_edit.html", console, status=200 if allowed else 403, may_manage=allowed,
                 campaign=campaign, description=rules.get("description") or {}, kinds=[k.value for k in CampaignKind],
                 window=window, data=data)


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign_page(request: Request) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    return _editor(request, console, None)


@router.get("/campaigns/{campaign_id}/edit", response_class=HTMLResponse)
def edit_campaign_page(request: Request, campaign_id: CampaignId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    try:
        with read(runtime_of(request).engine) as conn:
            campaign = store.get_campaign(conn, console.workspace.id, campaign_id)
    except CampaignNotFound:
        return _page(request, "not_found.html", console, status=404)
    return _editor(request, console, campaign)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: CampaignId) -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id, rt = console.workspace.id, runtime_of(request)
    try:
        figures = measure(rt, workspace_id, campaign_id, clock.now(), with_retention=True)
        with read(rt.engine) as conn:
            campaign = store.get_campaign(conn, workspace_id, campaign_id)
            ranking = standings(conn, workspace_id, campaign_id, limit=10)
            latest = store.credits_of_campaign(conn, workspace_id, campaign_id, limit=500)[-20:][::-1]
    except CampaignNotFound:  # another workspace's id, or none at all
        return _page(request, "not_found.html", console, status=404)
    funnel = {"type": "bar", "labels": ["sent", "arrived", "accepted"],
              "series": [{"code": "invites", "values": [figures["invites_sent"], figures["invites_arrived"],
                                                        figures["invites_accepted"]]}]}
    findings = check_rules(campaign.kind.value, campaign.rules)
    return _page(request, "campaign.html", console, campaign=campaign, figures=figures, ranking=ranking,
                 credits=latest, funnel=funnel, findings=findings, may_manage=may_manage(console),
                 page_url=f"/c/{campaign.token}", data={"csrf": console.csrf, "id": campaign.id})
