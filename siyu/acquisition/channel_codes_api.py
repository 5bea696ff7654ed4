"""``/api/channel-codes``: create official-account QR and WeCom contact-way codes, change their
routing, welcome, tags and journey, push routing to WeCom, daily figures, and the QR as PNG, SVG
and a printable card."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field

from siyu import clock
from siyu.acquisition import channel_codes, channel_codes_edit, qr
from siyu.acquisition import channel_codes_store as store
from siyu.acquisition.channel_codes_store import ChannelCodeError
from siyu.api.auth import require, runtime_of
from siyu.api.patch import patch_values
from siyu.db.engine import read
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/channel-codes", tags=["channel codes"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
CodeId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class CodeIn(BaseModel):
    kind: Literal["wechat_qr", "wecom_contact"]
    key: str = Field(min_length=1, max_length=30, description="Scene string / state; the same key again is idempotent")
    name: str = Field(min_length=1, max_length=100, description="The channel, e.g. 天猫包裹卡")
    caption: str | None = Field(None, max_length=200, description="Printed under the code on the card")
    expire_seconds: int | None = Field(None, description="wechat_qr: temporary, 60-2592000 s; absent: permanent")
    expires_at: datetime | None = Field(None, description="wecom_contact: stop attributing after this")
    routing: dict[str, Any] | None = Field(None, description="wecom_contact: strategy, staff, fallback")
    welcome: dict[str, Any] | None = Field(None, description='{"text": "..."}')
    tags: list[str] | None = Field(None, max_length=50)
    journey_id: int | None = Field(None, ge=1, le=2**31 - 1)
    reward: dict[str, Any] | None = Field(None, description='{"cash_fen": 188, "wishing": "...", "budget_fen": ...}')


class CodePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100)
    caption: str | None = Field(None, max_length=200)
    routing: dict[str, Any] | None = None
    welcome: dict[str, Any] | None = None
    tags: list[str] | None = Field(None, max_length=50)
    journey_id: int | None = Field(None, ge=0, le=2**31 - 1, description="0 removes the journey")
    status: Literal["active", "archived"] | None = None
    reward: dict[str, Any] | None = Field(None, description="a red packet per arrival; null removes it")
    expires_at: AwareDatetime | None = Field(None, description="wecom_contact: when the code stops routing; null: "
                                                               "never (an official-account QR's life is WeChat's)")


def _workspace(conn: Any, caller: Principal) -> Any:
    return workspace_store.get_workspace(conn, caller.workspace_id)


@router.post("", status_code=201, summary="Create a code (calls WeChat qrcode/create or WeCom add_contact_way)")
def create_code(request: Request, caller: Writer, body: CodeIn) -> Any:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        workspace = _workspace(conn, caller)
        if body.journey_id:
            from siyu.journeys import store as journey_store

            journey_store.get_journey(conn, caller.workspace_id, body.journey_id)
    code, created = channel_codes.create(
        engine, workspace, kind=body.kind, key=body.key, name=body.name, caption=body.caption,
        expire_seconds=body.expire_seconds, routing=body.routing, welcome=body.welcome, tags=body.tags,
        journey_id=body.journey_id, expires_at=body.expires_at, now=clock.now(), reward=body.reward)
    out = channel_codes.describe(code, clock.now())
    return out if created else JSONResponse(_json(out), status_code=200)


def _json(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


@router.get("", summary="Codes")
def list_codes(request: Request, caller: Reader, kind: Literal["wechat_qr", "wecom_contact"] | None = None,
               status: Literal["active", "archived"] | None = None) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [channel_codes.describe(c, clock.now())
                for c in store.list_codes(conn, caller.workspace_id, kind=kind, status=status)]


@router.get("/{code_id}")
def get_code(request: Request, caller: Reader, code_id: CodeId) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        code = store.get_code(conn, caller.workspace_id, code_id)
        out = channel_codes.describe(code, clock.now())
        if code["kind"] == "wecom_contact" and code["routing"]:
            routed = channel_codes.decide(conn, _workspace(conn, caller), code, clock.now())
            out["routing_now"] = {"users": list(routed.users), "fallback": routed.fallback,
                                  "excluded": dict(routed.excluded)}
        return out


@router.patch("/{code_id}", summary="Change a code; new routing is pushed to WeCom at once")
def edit_code(request: Request, caller: Writer, code_id: CodeId, body: CodePatch) -> dict[str, Any]:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        workspace = _workspace(conn, caller)
    changes = patch_values(body, nullable=("caption", "welcome", "reward", "expires_at"))
    return channel_codes_edit.edit(engine, workspace, code_id, changes, clock.now())


@router.post("/sync", summary="Push every WeCom code's routing where it changed (the worker step)")
def sync_codes(request: Request, caller: Writer) -> dict[str, int]:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        workspace = _workspace(conn, caller)
    return {"pushed": channel_codes.sync_all(engine, workspace, clock.now())}


@router.get("/{code_id}/stats", summary="Per local day: scans, follows, adds, new and returning; follow-through")
def code_stats(request: Request, caller: Reader, code_id: CodeId,
               days: Annotated[int, Query(ge=1, le=366)] = 30,
               kept_after: Annotated[int, Query(ge=1, le=365, description="follow-through after N days")] = 7
               ) -> dict[str, Any]:
    now = clock.now()
    with read(runtime_of(request).engine) as conn:
        workspace = _workspace(conn, caller)
        code = store.get_code(conn, caller.workspace_id, code_id)
        until = channel_codes.local_day(now, workspace.timezone)
        since = channel_codes.local_day(now - timedelta(days=days - 1), workspace.timezone)
        return {"code_id": code["id"], "key": code["key"], "since": since, "until": until,
                "days": store.daily_figures(conn, caller.workspace_id, code_id, since, until),
                "follow_through": store.follow_through(conn, caller.workspace_id, code_id, kept_after, now)}


def _content(request: Request, caller: Principal, code_id: int) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        code = store.get_code(conn, caller.workspace_id, code_id)
    if not code["qr_url"]:
        raise ChannelCodeError("The code has no QR yet (its creation did not finish): create it again with the "
                               "same key.", code="channel_codes.not_ready", status=409)
    return code


@router.get("/{code_id}/qr.png", summary="The QR as PNG (a WeCom code: WeCom's own image)")
def qr_png(request: Request, caller: Reader, code_id: CodeId,
           box_size: Annotated[int, Query(ge=2, le=40)] = 10) -> Response:
    code = _content(request, caller, code_id)
    if code["kind"] == "wecom_contact":  # WeCom hands out an image, not the content to encode
        return RedirectResponse(code["qr_url"], status_code=307)
    return Response(qr.png(code["qr_url"], box_size=box_size), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="{code["key"]}.png"'})


def _official(code: dict[str, Any]) -> None:
    if code["kind"] != "wechat_qr":
        raise ChannelCodeError("WeCom gives a contact way's QR as an image only (qr.png): SVG and cards are made "
                               "for official-account codes.", code="channel_codes.image_only", status=409)


@router.get("/{code_id}/qr.svg", summary="The QR as SVG (official-account codes)")
def qr_svg(request: Request, caller: Reader, code_id: CodeId) -> Response:
    code = _content(request, caller, code_id)
    _official(code)
    return Response(qr.svg(code["qr_url"]), media_type="image/svg+xml")


@router.get("/{code_id}/card.png", summary="A printable A6 card: the channel's name, the code, the caption")
def qr_card(request: Request, caller: Reader, code_id: CodeId) -> Response:
    code = _content(request, caller, code_id)
    _official(code)
    return Response(qr.card(code["qr_url"], code["name"], code["caption"]), media_type="image/png")
