"""``/api/loyalty``: the programme (tier ladder, growth weights, earning rules, expiry, catalogue),
members and their tier history and points, points adjustments and redemption for offers, and the
nightly evaluation on demand. Thin: parse, call loyalty, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.loyalty import points, points_store, service, store, worker
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/loyalty", tags=["loyalty"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]
Actor = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


class AdjustIn(BaseModel):
    points: int = Field(ge=-10**9, le=10**9, description="positive credits a lot, negative spends")
    note: str = Field(min_length=1, max_length=80)
    idempotency_key: str = Field(min_length=1, max_length=180)


class RedeemIn(BaseModel):
    offer_id: int = Field(ge=1, le=2**63 - 1)
    idempotency_key: str = Field(min_length=1, max_length=180)


def _workspace(conn, workspace_id: int):  # noqa: ANN001, ANN202
    return workspace_store.get_workspace(conn, workspace_id)


@router.get("/programme", summary="The programme and its tier ladder")
def get_programme(request: Request, caller: Reader) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        programme, period_start, period_index = store.get_programme(conn, caller.workspace_id)
        counts = store.tier_counts(conn, caller.workspace_id)
    return {**programme.model_dump(), "period_start": period_start, "period_index": period_index,
            "members_by_tier": [counts.get(rank, 0) for rank in range(len(programme.tiers))]}


@router.put("/programme", summary="Set the programme (ladder, weights, earning rules, expiry, catalogue)")
def put_programme(request: Request, caller: Manager, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return service.set_programme(conn, caller.workspace_id, body, now=clock.now()).model_dump()


@router.get("/members", summary="Members, by profile id (optionally of one tier)")
def list_members(request: Request, caller: Reader, tier: Annotated[int | None, Query(ge=0, le=19)] = None,
                 after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [m.to_dict() for m in store.list_members(conn, caller.workspace_id, tier_rank=tier, limit=limit,
                                                         after_profile=after)]


@router.get("/members/{profile_id}", summary="A member's tier, progress, history, points entries and lots")
def get_member(request: Request, caller: Reader, profile_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return service.member_view(conn, caller.workspace_id, profile_id)


@router.get("/members/{profile_id}/points", summary="A member's ledger, newest first")
def member_points(request: Request, caller: Reader, profile_id: Id,
                  before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [e.to_dict() for e in points_store.list_entries(conn, caller.workspace_id, profile_id, limit=limit,
                                                               before_id=before)]


@router.post("/members/{profile_id}/adjust", status_code=201, summary="Credit or debit points by hand (idempotent)")
def adjust(request: Request, caller: Actor, profile_id: Id, body: AdjustIn) -> dict[str, Any]:
    from siyu.profiles.read_store import resolve_profile_id

    with write(runtime_of(request).engine) as conn:
        live = resolve_profile_id(conn, caller.workspace_id, profile_id)  # 404 for a stranger
        programme, _, _ = store.get_programme(conn, caller.workspace_id)
        timezone = _workspace(conn, caller.workspace_id).timezone
        if body.points == 0:
            from siyu.loyalty.errors import LoyaltyError

            raise LoyaltyError("'points' must not be 0.", details={"field": "points"})
        return points.adjust(conn, caller.workspace_id, live, body.points, key=body.idempotency_key, note=body.note,
                             now=clock.now(), expiry=programme.expiry, timezone=timezone).to_dict()


@router.post("/members/{profile_id}/redeem", status_code=201,
             summary="Spend points on a catalogue offer and claim it, in one transaction")
def redeem(request: Request, caller: Actor, profile_id: Id, body: RedeemIn) -> dict[str, Any]:
    from siyu.profiles.read_store import resolve_profile_id

    with write(runtime_of(request).engine) as conn:
        live = resolve_profile_id(conn, caller.workspace_id, profile_id)
        programme, _, _ = store.get_programme(conn, caller.workspace_id)
        entry, claim = points.redeem(conn, caller.workspace_id, programme, live, body.offer_id,
                                     key=body.idempotency_key, now=clock.now())
        return {"entry": entry.to_dict(), "claim": claim.to_dict()}


@router.post("/members/{profile_id}/centre-link", status_code=201,
             summary="A signed link to the person's member centre (/m/{token}) and when it expires")
def centre_link(request: Request, caller: Actor, profile_id: Id) -> dict[str, Any]:
    from siyu.loyalty.member_centre_token import issue_link

    rt = runtime_of(request)
    with read(rt.engine) as conn:
        return issue_link(conn, rt.config.public_url, rt.session_secret(), caller.workspace_id, profile_id,
                          clock.now())


@router.post("/run", summary="Follow the log now and run the nightly evaluation if today's is due")
def run_now(request: Request, caller: Manager) -> dict[str, Any]:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        store.get_programme(conn, caller.workspace_id)
        timezone = _workspace(conn, caller.workspace_id).timezone
    now = clock.now()
    followed = worker.follow_log(engine, caller.workspace_id, timezone, now)
    nightly = worker.run_nightly_if_due(engine, caller.workspace_id, timezone, now)
    return {"events": followed, "nightly": None if nightly is None else {
        k: v for k, v in nightly.__dict__.items() if k != "seconds"}}
