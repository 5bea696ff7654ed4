"""``/api/promoters`` and ``/api/commissions``: promoters (staff and KOC) with their links, the
commission plan (two levels at most), the ledger, its exports and payouts; and the public link
(``/p/{token}``), personal page and QR."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.api.patch import patch_values
from siyu.db.engine import read, write
from siyu.growth import distribution_promoters as promoters
from siyu.growth import distribution_store as store
from siyu.growth import distribution_summary as summary
from siyu.growth.distribution_export import MEDIA_TYPES, ExportFormat, filename
from siyu.growth.distribution_ledger import pay, plan_of
from siyu.growth.distribution_rules import parse_plan
from siyu.growth.distribution_worker import process_workspace
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/promoters", tags=["distribution"])
commissions_router = APIRouter(prefix="/api/commissions", tags=["distribution"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
Exporter = Annotated[Principal, Depends(require(Permission.EXPORT))]
Payer = Annotated[Principal, Depends(require(Permission.WORKSPACE_ADMIN))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Status = Literal["pending", "confirmed", "paid", "reversed"]


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    url: str | None = Field(None, max_length=1000)
    price: float | None = Field(None, ge=0, le=10**8)


class PromoterIn(BaseModel):
    kind: Literal["staff", "koc"]
    staff_id: int | None = Field(None, ge=1, le=2**31 - 1, description="For a staff promoter")
    profile_id: int | None = Field(None, ge=1, le=2**63 - 1, description="For a KOC promoter")
    name: str | None = Field(None, min_length=1, max_length=100, description="Defaults to the staff or customer name")
    parent_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Earns the level-2 rate; has no parent")
    landing_url: str | None = Field(None, max_length=1000, description="Where the link leads; else the page")
    products: list[ProductIn] | None = Field(None, max_length=12)


class PromoterPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100)
    parent_id: int | None = Field(None, ge=1, le=2**31 - 1, description="null removes the parent")
    landing_url: str | None = Field(None, max_length=1000)
    products: list[ProductIn] | None = Field(None, max_length=12)
    status: Literal["active", "disabled"] | None = None


class PayoutIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=200)
    promoter_id: int | None = Field(None, ge=1, le=2**31 - 1, description="One promoter; everyone if omitted")


def _products(items: list[ProductIn] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [i.model_dump(exclude_none=True) for i in items]


@router.get("", summary="Promoters with their links, touches and commission by status")
def list_promoters(request: Request, caller: Reader, status: Literal["active", "disabled"] | None = None,
                   kind: Literal["staff", "koc"] | None = None) -> list[dict[str, Any]]:
    rt = runtime_of(request)
    with read(rt.engine) as conn:
        found = store.list_promoters(conn, caller.workspace_id, status=status, kind=kind)
        return summary.summaries(conn, caller.workspace_id, found, rt.config.public_url)


@router.post("", status_code=201, summary="Make a staff member or a KOC customer a promoter")
def create_promoter(request: Request, caller: Manager, body: PromoterIn) -> dict[str, Any]:
    rt = runtime_of(request)
    with write(rt.engine) as conn:
        made = promoters.create_promoter(conn, caller.workspace_id, kind=body.kind, now=clock.now(),
                                         staff_id=body.staff_id, profile_id=body.profile_id, name=body.name,
                                         parent_id=body.parent_id, landing_url=body.landing_url,
                                         products=_products(body.products))
        return summary.summary(conn, caller.workspace_id, made.id, rt.config.public_url)


@router.get("/{promoter_id}", summary="One promoter")
def get_promoter(request: Request, caller: Reader, promoter_id: Id) -> dict[str, Any]:
    rt = runtime_of(request)
    with read(rt.engine) as conn:
        return summary.summary(conn, caller.workspace_id, promoter_id, rt.config.public_url)


@router.patch("/{promoter_id}", summary="Rename, re-parent (two levels at most), change the links, disable")
def change_promoter(request: Request, caller: Manager, promoter_id: Id, body: PromoterPatch) -> dict[str, Any]:
    rt = runtime_of(request)
    values = patch_values(body, nullable=["parent_id", "landing_url", "products"])
    if "products" in values:
        values["products"] = _products(body.products) or []
    with write(rt.engine) as conn:
        promoters.change_promoter(conn, caller.workspace_id, promoter_id, clock.now(), **values)
        return summary.summary(conn, caller.workspace_id, promoter_id, rt.config.public_url)


@router.get("/{promoter_id}/touches", summary="The promoter's latest link touches")
def touches(request: Request, caller: Reader, promoter_id: Id,
            limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        store.get_promoter(conn, caller.workspace_id, promoter_id)
        return store.recent_touches(conn, caller.workspace_id, promoter_id, limit)


@commissions_router.get("/plan", summary="The commission plan (the default until one is saved)")
def get_plan(request: Request, caller: Reader) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return {**plan_of(conn, caller.workspace_id).to_dict(),
                "version": store.get_plan(conn, caller.workspace_id)[1]}


@commissions_router.put("/plan", summary="Save the plan: rates by product / category, two levels at most")
def save_plan(request: Request, caller: Manager, body: dict[str, Any]) -> dict[str, Any]:
    plan = parse_plan(body)  # distribution.too_many_levels for a third level, with the legal reason
    with write(runtime_of(request).engine) as conn:
        version = store.save_plan(conn, caller.workspace_id, plan.to_dict(), clock.now())
    return {**plan.to_dict(), "version": version}


@commissions_router.get("", summary="Ledger rows, newest first")
def list_commissions(request: Request, caller: Reader, promoter_id: OptionalId = None, status: Status | None = None,
                     payout_id: OptionalId = None,
                     before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="ids below this")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [c.to_dict() for c in store.list_commissions(conn, caller.workspace_id, promoter_id=promoter_id,
                                                            status=status, payout_id=payout_id, before_id=before,
                                                            limit=limit)]


@commissions_router.get("/balances", summary="Per promoter, the ledger's sums by status (fen)")
def balances(request: Request, caller: Reader, promoter_id: OptionalId = None) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        sums = store.balances(conn, caller.workspace_id, promoter_id)
    return [{"promoter_id": p, **values} for p, values in sorted(sums.items())]


@commissions_router.get("/export", response_class=Response, summary="The ledger as CSV or XLSX, per period / promoter")
def export_ledger(request: Request, caller: Exporter, format: ExportFormat = ExportFormat.CSV,  # noqa: A002
                  promoter_id: OptionalId = None, since: date | None = None, until: date | None = None) -> Response:
    with read(runtime_of(request).engine) as conn:
        timezone = workspace_store.get_workspace(conn, caller.workspace_id).timezone
        body = summary.ledger_file(conn, caller.workspace_id, format, timezone=timezone, promoter_id=promoter_id,
                                   since=since, until=until)
    name = filename(format, promoter_id, since, until)
    return Response(body, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@commissions_router.post("/payouts", status_code=201, summary="Pay every confirmed commission (idempotent key)")
def create_payout(request: Request, response: Response, caller: Payer, body: PayoutIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        payout, created = pay(conn, caller.workspace_id, key=body.idempotency_key, now=clock.now(),
                              promoter_id=body.promoter_id)
    if not created:
        response.status_code = 200
    return payout


@commissions_router.get("/payouts", summary="Payout batches, newest first")
def list_payouts(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return store.list_payouts(conn, caller.workspace_id)


@commissions_router.post("/process", summary="Attribute new orders and confirm due commissions now (the worker step)")
def process_now(request: Request, caller: Manager) -> dict[str, int]:
    return process_workspace(runtime_of(request).engine, caller.workspace_id)
