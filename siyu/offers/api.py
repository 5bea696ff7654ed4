"""``/api/offers`` and ``/api/claims``: offer templates, their code pools and budgets; claiming,
redeeming, voiding and expiring claims; figures and exports. Thin: parse, call the service, render."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.errors import SiyuError
from siyu.offers import codes, export, service, store
from siyu.offers.errors import OffersError
from siyu.offers.figures import offer_figures
from siyu.offers.models import Fulfilment, OfferKind
from siyu.offers.redemption import Order
from siyu.offers.writer import ClaimRequest, writer_for
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/offers", tags=["offers"])
claims_router = APIRouter(prefix="/api/claims", tags=["offers"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]
Actor = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]  # claims act on a person (staff redeem)
Exporter = Annotated[Principal, Depends(require(Permission.EXPORT))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Code = Annotated[str, Path(min_length=4, max_length=80)]
BigInt = Annotated[int, Field(ge=1, le=2**63 - 1)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
MAX_BATCH = 10_000
MAX_IMPORT_BYTES = 8 * 2**20


MAX_FEN = 2**31 - 1  # the columns are 32-bit integers: over 21 million yuan is refused as input, not stored


class OfferIn(BaseModel):
    name: Name
    kind: OfferKind
    stock: int = Field(ge=0, le=100_000_000)
    per_person_limit: int = Field(1, ge=1, le=10_000)
    amount_fen: int | None = Field(None, ge=1, le=MAX_FEN,
                                   description="fixed_amount / threshold: off; red_packet: paid")
    percent_off: int | None = Field(None, ge=1, le=99, description="percentage: % off")
    threshold_fen: int | None = Field(None, ge=1, le=MAX_FEN, description="threshold (满减): the least order amount")
    points: int | None = Field(None, ge=1, le=MAX_FEN)
    gift_name: str | None = Field(None, max_length=100, description="free_gift / physical_gift")
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = Field(None, ge=1, le=3660, description="relative validity: days from the claim")
    channels: list[Name] | None = Field(None, description="redeemable only in these order channels")
    products: list[Name] | None = Field(None, description="redeemable only on orders with one of these")
    campaign_id: BigInt | None = Field(None, description="the budget claims spend from")
    cost_fen: int | None = Field(None, ge=0, le=MAX_FEN,
                                 description="what one claim costs the budget (default: the money off)")
    description: str = Field("", max_length=500)


class ClaimIn(BaseModel):
    profile_id: BigInt
    idempotency_key: str = Field(min_length=1, max_length=200)
    channel: str | None = Field(None, max_length=64)
    campaign_id: BigInt | None = None
    delivery: dict[str, str] | None = Field(None, description="physical gift: name, phone, address")
    amount_fen: int | None = Field(None, ge=1, le=MAX_FEN, description=(
        "the claim's own face value in fen (fixed_amount, threshold: off; red_packet: paid); only an offer "
        "whose value is an amount takes one, within its bounds (threshold: at most the threshold; red_packet: "
        "100-20000), else 422 offers.face_value; null: the offer's amount_fen"))


class RedeemIn(BaseModel):
    order_id: str = Field(min_length=1, max_length=100)
    amount_fen: int = Field(ge=0, le=10**12, description="the order amount before the coupon")
    channel: str | None = Field(None, max_length=64)
    products: list[Name] = Field(default_factory=list)
    idempotency_key: str = Field(min_length=1, max_length=200)


class VoidIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class FulfilmentIn(BaseModel):
    status: Fulfilment
    delivery: dict[str, str] | None = None


class BatchIn(BaseModel):
    count: int = Field(ge=1, le=MAX_BATCH)


class BudgetIn(BaseModel):
    budget_fen: int = Field(ge=0, le=10**12)


@router.post("", status_code=201, summary="Create an offer (coupon or reward template)")
def create_offer(request: Request, caller: Manager, body: OfferIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return service.create_offer(conn, caller.workspace_id, body.model_dump(mode="python"),
                                    now=clock.now()).to_dict()


@router.get("", summary="Offers, newest first")
def list_offers(request: Request, caller: Reader, status: Literal["active", "ended"] | None = None,
                campaign_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [o.to_dict() for o in store.list_offers(conn, caller.workspace_id, status=status,
                                                       campaign_id=campaign_id, limit=limit)]


@router.get("/budgets", summary="Campaign budgets: what each may spend, has spent and has left")
def budgets(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return store.list_budgets(conn, caller.workspace_id)


@router.put("/budgets/{campaign_id}", summary="Set a campaign's budget (what its claims may spend in all)")
def set_budget(request: Request, caller: Manager, campaign_id: Id, body: BudgetIn) -> list[dict[str, Any]]:
    with write(runtime_of(request).engine) as conn:
        store.set_budget(conn, caller.workspace_id, campaign_id, body.budget_fen, clock.now())
        return store.list_budgets(conn, caller.workspace_id)


@router.post("/expire-due", summary="Expire unused claims past their validity now (the worker step)")
def expire_due(request: Request, caller: Manager) -> dict[str, int]:
    with write(runtime_of(request).engine) as conn:
        return {"expired": service.expire_claims(conn, caller.workspace_id, now=clock.now())}


@router.get("/{offer_id}", summary="One offer, with claimed, redeemed and remaining")
def get_offer(request: Request, caller: Reader, offer_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return store.get_offer(conn, caller.workspace_id, offer_id).to_dict()


@router.get("/{offer_id}/figures", summary="Claimed, redeemed and remaining, by status and per local day")
def figures(request: Request, caller: Reader, offer_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        offer = store.get_offer(conn, caller.workspace_id, offer_id)
        timezone = workspace_store.get_workspace(conn, caller.workspace_id).timezone
        return offer_figures(conn, caller.workspace_id, offer, timezone=timezone, now=clock.now())


@router.post("/{offer_id}/end", summary="Stop issuing; claims made stay usable")
def end_offer(request: Request, caller: Manager, offer_id: Id) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return service.end_offer(conn, caller.workspace_id, offer_id, now=clock.now()).to_dict()


@router.post("/{offer_id}/codes", status_code=201, summary="Generate a batch of unique codes into the pool")
def generate_codes(request: Request, caller: Manager, offer_id: Id, body: BatchIn) -> dict[str, Any]:
    batch = codes.generate_batch(body.count)
    with write(runtime_of(request).engine) as conn:
        offer = service.add_codes(conn, caller.workspace_id, offer_id, batch, now=clock.now())
        return {"added": len(batch), "codes": batch, **store.pool_counts(conn, caller.workspace_id, offer.id)}


@router.post("/{offer_id}/codes/import", status_code=201, summary="Import codes (CSV, first column) into the pool")
def import_codes(request: Request, caller: Manager, offer_id: Id,
                 content: Annotated[bytes, Body(media_type="text/csv", description="one code per line")]
                 ) -> dict[str, Any]:
    if len(content) > MAX_IMPORT_BYTES:
        raise OffersError("The file is larger than 8 MB; split it.", code="offers.file_too_large", status=413)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OffersError("The file is not UTF-8 text.", code="offers.bad_file") from None
    found, problems = codes.parse_csv(text)
    if problems or not found:
        raise OffersError("The file has problems; nothing was imported.", code="offers.bad_file",
                          details={"problems": problems[:50] or ["no codes"]})
    with write(runtime_of(request).engine) as conn:
        offer = service.add_codes(conn, caller.workspace_id, offer_id, found, now=clock.now())
        return {"added": len(found), **store.pool_counts(conn, caller.workspace_id, offer.id)}


@router.post("/{offer_id}/claims", status_code=201,
             summary="Claim one unit for a person; the same key again returns the first answer")
async def claim(request: Request, caller: Actor, offer_id: Id, body: ClaimIn) -> dict[str, Any]:
    """Claimed with the next group of claims (:mod:`siyu.offers.writer`), answered once it committed;
    a refusal is committed with its group too, so the key answers the same next time."""
    answer = await asyncio.wrap_future(writer_for(runtime_of(request)).submit(ClaimRequest(
        caller.workspace_id, offer_id, body.profile_id, body.idempotency_key, channel=body.channel,
        campaign_id=body.campaign_id, delivery=body.delivery, amount_fen=body.amount_fen)))
    if isinstance(answer, SiyuError):
        raise answer
    return answer


@router.get("/{offer_id}/claims", summary="The offer's claims, newest first")
def list_claims(request: Request, caller: Reader, offer_id: Id,
                status: Literal["claimed", "redeemed", "voided", "expired", "refused"] | None = None,
                before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        store.get_offer(conn, caller.workspace_id, offer_id)
        return [c.to_dict() for c in store.list_claims(conn, caller.workspace_id, offer_id=offer_id, status=status,
                                                       before_id=before, limit=limit)]


@router.get("/{offer_id}/claims.csv", summary="Export the offer's claims as CSV")
def export_claims(request: Request, caller: Exporter, offer_id: Id) -> StreamingResponse:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        store.get_offer(conn, caller.workspace_id, offer_id)  # 404 before the stream starts
    return StreamingResponse(export.claims_csv(engine, caller.workspace_id, offer_id),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="offer-{offer_id}-claims.csv"'})


@claims_router.get("/{code}", summary="One claim by its code")
def get_claim(request: Request, caller: Reader, code: Code) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return store.claim_by_code(conn, caller.workspace_id, codes.normalise(code)).to_dict()


@claims_router.post("/{code}/redeem", summary="Use the coupon on an order (validity, channel, products, threshold)")
def redeem(request: Request, caller: Actor, code: Code, body: RedeemIn) -> dict[str, Any]:
    order = Order(order_id=body.order_id, amount_fen=body.amount_fen, channel=body.channel,
                  products=tuple(body.products))
    with write(runtime_of(request).engine) as conn:
        return service.redeem_claim(conn, caller.workspace_id, code, order=order,
                                    idempotency_key=body.idempotency_key, now=clock.now()).to_dict()


@claims_router.post("/{code}/void", summary="Void an unused claim: stock, limit and budget come back")
def void(request: Request, caller: Actor, code: Code, body: VoidIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        found = store.claim_by_code(conn, caller.workspace_id, codes.normalise(code))
        return service.void_claim(conn, caller.workspace_id, found.id, reason=body.reason, now=clock.now()).to_dict()


@claims_router.post("/{code}/fulfilment", summary="A physical gift's delivery details and progress")
def fulfil(request: Request, caller: Actor, code: Code, body: FulfilmentIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        found = store.claim_by_code(conn, caller.workspace_id, codes.normalise(code))
        return service.set_fulfilment(conn, caller.workspace_id, found.id, fulfilment_status=body.status,
                                      delivery=body.delivery, now=clock.now()).to_dict()
