"""``/api/campaigns``: fission campaigns — the editor's calls (validate with compliance findings, create,
edit, launch, end), participation from the brand's page or mini program (join, invite, help), the
review of held credits, the live leaderboard, rewards and the campaign's measurement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.growth import credits, measurement, rewards_store, service, store
from siyu.growth.check_in import local_day
from siyu.growth.compliance import check_rules
from siyu.growth.errors import CampaignError, InvalidRules
from siyu.growth.leaderboard import TieRule
from siyu.growth.models import CampaignKind, CreditStatus
from siyu.growth.rules import LeaderboardRules, parse_rules
from siyu.growth.settle import standings
from siyu.growth.worker import run_workspace
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
Participation = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
ProfileId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Operator(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="Who runs the campaign (shown on its pages)")
    contact: str | None = Field(None, max_length=200, description="A phone, address or service account")


class CampaignIn(BaseModel):
    kind: CampaignKind
    name: str = Field(min_length=1, max_length=200)
    rules: dict[str, Any]
    operator: Operator
    starts_at: datetime
    ends_at: datetime
    budget_fen: int | None = Field(None, ge=0, le=10**12, description="Issuance stops when rewards cost this much")


class ValidateIn(BaseModel):
    kind: CampaignKind
    rules: dict[str, Any]


class JoinIn(BaseModel):
    profile_id: ProfileId


class ArrivalIn(BaseModel):
    ref: str = Field(min_length=1, max_length=32, description="The participant's share token (?ref=)")
    profile_id: ProfileId
    device_id: str | None = Field(None, max_length=200)
    ip: str | None = Field(None, max_length=64)


def _draft(body: CampaignIn) -> service.Draft:
    return service.Draft(kind=body.kind, name=body.name, rules=body.rules, operator=body.operator.model_dump(),
                         starts_at=body.starts_at, ends_at=body.ends_at, budget_fen=body.budget_fen)


def _with_links(request: Request, campaign: Any) -> dict[str, Any]:
    found = campaign.to_dict()
    found["page_url"] = str(request.base_url).rstrip("/") + f"/c/{campaign.token}"
    return found


@router.post("/validate", summary="Check rules: their problems and the compliance findings, with reasons")
def validate(request: Request, caller: Reader, body: ValidateIn) -> dict[str, Any]:
    """Also whether the offers can carry what the rules say their rewards are worth (a split coupon's
    shares, a group buy's savings): the editor shows the refusal saving would give, with its code."""
    findings = [f.to_dict() for f in check_rules(body.kind.value, body.rules)]
    try:
        parsed = parse_rules(body.kind, body.rules)
        with read(runtime_of(request).engine) as conn:
            service.check_reward_offers(conn, caller.workspace_id, parsed)
    except InvalidRules as error:
        return {"valid": False, "errors": error.details["errors"], "findings": findings}
    except CampaignError as error:
        return {"valid": False, "findings": findings, "errors": [
            {"loc": str((error.details or {}).get("field", "")), "message": error.message, "type": error.code}]}
    return {"valid": True, "errors": [], "findings": findings}


@router.post("", status_code=201, summary="Create a campaign (a draft); 422 campaigns.invalid_rules on bad rules")
def create(request: Request, caller: Writer, body: CampaignIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        campaign = service.create_campaign(conn, caller.workspace_id, _draft(body), created_by=caller.actor,
                                           now=clock.now())
    return _with_links(request, campaign)


@router.get("", summary="Campaigns, newest first")
def list_campaigns(request: Request, caller: Reader,
                   status: Literal["draft", "live", "ended"] | None = None,
                   kind: CampaignKind | None = None) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [_with_links(request, c) for c in store.list_campaigns(
            conn, caller.workspace_id, status=status, kind=kind.value if kind else None)]


@router.get("/{campaign_id}", summary="A campaign, with its counters (budget, tier stock) and findings")
def get(request: Request, caller: Reader, campaign_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        campaign = store.get_campaign(conn, caller.workspace_id, campaign_id)
        found = _with_links(request, campaign)
        found["counters"] = store.counters(conn, caller.workspace_id, campaign_id)
    found["findings"] = [f.to_dict() for f in check_rules(campaign.kind.value, campaign.rules)]
    return found


@router.put("/{campaign_id}", summary="Replace a draft's name, rules, operator, window and budget")
def edit(request: Request, caller: Writer, campaign_id: Id, body: CampaignIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return _with_links(request, service.edit_campaign(conn, caller.workspace_id, campaign_id, _draft(body),
                                                          clock.now()))


@router.post("/{campaign_id}/launch", summary="draft → live (refused with the findings if compliance finds errors)")
def launch(request: Request, caller: Writer, campaign_id: Id) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return _with_links(request, service.launch(conn, caller.workspace_id, campaign_id, clock.now()))


@router.post("/{campaign_id}/end", summary="live → ended now (prizes are handed out by the worker)")
def end(request: Request, caller: Writer, campaign_id: Id) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return _with_links(request, service.end(conn, caller.workspace_id, campaign_id, clock.now()))


@router.post("/{campaign_id}/participants", status_code=201, summary="A person joins; returns their share link")
def join(request: Request, caller: Participation, campaign_id: Id, body: JoinIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        participant = service.join(conn, caller.workspace_id, campaign_id, body.profile_id, clock.now())
        campaign = store.get_campaign(conn, caller.workspace_id, campaign_id)
    found = participant.to_dict()
    found["share_url"] = str(request.base_url).rstrip("/") + f"/c/{campaign.token}?ref={participant.token}"
    return found


@router.post("/{campaign_id}/invites", status_code=201, summary="An invitee came through a share link")
def invite(request: Request, caller: Participation, campaign_id: Id, body: ArrivalIn) -> dict[str, Any]:
    arrival = service.Arrival(ref=body.ref, profile_id=body.profile_id, device_id=body.device_id, ip=body.ip)
    with write(runtime_of(request).engine) as conn:
        return service.record_invite(conn, caller.workspace_id, campaign_id, arrival, clock.now()).to_dict()


@router.post("/{campaign_id}/helps", status_code=201, summary="A friend helps (one help per helper)")
def help_(request: Request, caller: Participation, campaign_id: Id, body: ArrivalIn) -> dict[str, Any]:
    arrival = service.Arrival(ref=body.ref, profile_id=body.profile_id, device_id=body.device_id, ip=body.ip)
    with write(runtime_of(request).engine) as conn:
        return service.record_help(conn, caller.workspace_id, campaign_id, arrival, clock.now()).to_dict()


@router.post("/{campaign_id}/joins", status_code=201, summary="A friend joins a group buy or claims a split share")
def join_group(request: Request, caller: Participation, campaign_id: Id, body: ArrivalIn) -> dict[str, Any]:
    arrival = service.Arrival(ref=body.ref, profile_id=body.profile_id, device_id=body.device_id, ip=body.ip)
    with write(runtime_of(request).engine) as conn:
        return service.record_join(conn, caller.workspace_id, campaign_id, arrival, clock.now()).to_dict()


class LeaveIn(BaseModel):
    profile_id: ProfileId


@router.post("/{campaign_id}/leaves", status_code=201,
             summary="A member leaves their open group buy (the place freed, the claim voided); 409 campaigns."
                     "leave_refused for the leader or a formed / failed group")
def leave(request: Request, caller: Participation, campaign_id: Id, body: LeaveIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return service.leave(conn, caller.workspace_id, campaign_id, body.profile_id, clock.now()).to_dict()


class CheckInIn(BaseModel):
    profile_id: ProfileId
    make_up_day: date | None = Field(None, description="A missed past day filled with a make-up card")


@router.post("/{campaign_id}/check-ins", status_code=201, summary="Check in today (or spend a make-up card)")
def check_in(request: Request, caller: Participation, campaign_id: Id, body: CheckInIn) -> dict[str, Any]:
    rt, now = runtime_of(request), clock.now()
    with write(rt.engine) as conn:
        zone = workspace_store.get_workspace(conn, caller.workspace_id).timezone
        return service.check_in(conn, caller.workspace_id, campaign_id, body.profile_id,
                                today=local_day(now, zone), make_up_day=body.make_up_day, now=now)


@router.get("/{campaign_id}/participants/{profile_id}", summary="A person's participation and their mechanic's state")
def participation(request: Request, caller: Reader, campaign_id: Id, profile_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        store.get_campaign(conn, caller.workspace_id, campaign_id)
        found = store.participant_of(conn, caller.workspace_id, campaign_id, profile_id)
    if found is None:
        raise CampaignError(f"Profile {profile_id} has not joined campaign {campaign_id}.",
                            code="campaigns.not_participant", status=404)
    return found.to_dict()


@router.get("/{campaign_id}/participants/{profile_id}/poster.png", response_class=Response,
            summary="The participant's poster (the campaign's poster template, their share link in the QR)")
def poster(request: Request, caller: Reader, campaign_id: Id, profile_id: Id) -> Response:
    from siyu.acquisition.posters_live import poster_png

    rt = runtime_of(request)
    with read(rt.engine) as conn:
        campaign = store.get_campaign(conn, caller.workspace_id, campaign_id)
        joined = store.participant_of(conn, caller.workspace_id, campaign_id, profile_id)
    template_id = campaign.rules.get("poster_template_id")
    if template_id is None or joined is None:
        raise CampaignError("The campaign has no poster template, or the person has not joined it.",
                            code="campaigns.no_poster", status=404,
                            details={"poster_template_id": template_id, "joined": joined is not None})
    return Response(poster_png(rt, caller.workspace_id, int(template_id), joined.profile_id), media_type="image/png",
                    headers={"Cache-Control": "no-store"})


@router.get("/{campaign_id}/credits", summary="Invites and helps, with their anti-fraud score and reasons")
def list_credits(request: Request, caller: Reader, campaign_id: Id, status: CreditStatus | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        store.get_campaign(conn, caller.workspace_id, campaign_id)
        return [c.to_dict() for c in store.credits_of_campaign(
            conn, caller.workspace_id, campaign_id, statuses=(status,) if status else None, limit=limit)]


class ReviewIn(BaseModel):
    note: str | None = Field(None, max_length=500)


@router.post("/credits/{credit_id}/{action}", summary="Approve or reject a held credit (resolves its review)")
def review(request: Request, caller: Writer, credit_id: Id, action: Literal["approve", "reject"],
           body: ReviewIn | None = None) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return credits.resolve(conn, caller.workspace_id, credit_id, action, operator=caller.actor,
                               note=body.note if body else None, now=clock.now()).to_dict()


@router.get("/{campaign_id}/leaderboard", summary="The live ranking (a leaderboard campaign)")
def leaderboard(request: Request, caller: Reader, campaign_id: Id,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        campaign = store.get_campaign(conn, caller.workspace_id, campaign_id)
        rules = parse_rules(campaign.kind, campaign.rules)
        if isinstance(rules, LeaderboardRules):  # its own tie rule and floor; any invite campaign ranks too
            ranked = standings(conn, caller.workspace_id, campaign_id, min_progress=rules.min_progress,
                               ties=TieRule(rules.ties), limit=limit)
        else:
            ranked = standings(conn, caller.workspace_id, campaign_id, limit=limit)
    return [{"position": r.position, "profile_id": r.profile_id, "score": r.score, "reached_at": r.reached_at}
            for r in ranked]


@router.get("/{campaign_id}/rewards", summary="Rewards granted, refused or voided, newest first")
def rewards(request: Request, caller: Reader, campaign_id: Id,
            profile_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        store.get_campaign(conn, caller.workspace_id, campaign_id)
        listed = rewards_store.list_rewards(conn, caller.workspace_id, campaign_id, profile_id=profile_id)
        return [r.to_dict() for r in listed]


@router.get("/{campaign_id}/measurement", summary="Participants, invites, K-factor, cost per new customer, retention")
def measure(request: Request, caller: Reader, campaign_id: Id,
            retention: Annotated[bool, Query(description="Add 7- / 30-day retention against other channels")] = True,
            ) -> dict[str, Any]:
    return measurement.measure(runtime_of(request), caller.workspace_id, campaign_id, clock.now(),
                               with_retention=retention)


@router.post("/run-due", summary="Run the campaigns' worker step now (qualify, revoke, expire, settle)")
def run_due(request: Request, caller: Writer) -> dict[str, int]:
    return run_workspace(runtime_of(request), caller.workspace_id, clock.now())
