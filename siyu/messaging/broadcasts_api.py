"""``/api/broadcasts``: one message to a segment, now or scheduled, throttled; preview, test send,
cancel, and the figures of each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.messaging import broadcasts
from siyu.messaging.models import Channel, Purpose
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/broadcasts", tags=["broadcasts"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Sender = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
BroadcastId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SegmentId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class BroadcastIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    segment_id: SegmentId
    channel: Channel
    purpose: Purpose = Purpose.MARKETING
    content: dict[str, Any] | None = Field(None, description="Sent to every member as written")
    template: dict[str, Any] | None = Field(
        None, description="Instead of content: the same shape with Jinja2 strings ({{ profile.traits.name }}), "
                          "rendered for each member when sent (a webhook's under 'body')")
    send_at: datetime | None = Field(None, description="Not before this time (default: now)")
    rate_per_minute: int | None = Field(None, ge=1, le=1_000_000, description="Throttle; default: no throttle")
    track_links: bool = Field(True, description="false: links are sent as they are, no open pixel")
    goal: dict[str, Any] | None = Field(
        None, description='The conversion: {"event": "Order Completed", "where"?: [...], "within": "7d"} after '
                          "each member's message")
    holdout_percent: float = Field(0, ge=0, le=50, description="Members kept back as a control group (needs a goal)")


class PreviewIn(BaseModel):
    segment_id: SegmentId
    channel: Channel
    purpose: Purpose = Purpose.MARKETING


class TestIn(BaseModel):
    profile_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=20)


class BroadcastOut(BaseModel):
    id: int
    name: str
    segment_id: int
    channel: str
    purpose: str
    status: str
    send_at: datetime
    rate_per_minute: int | None
    queued: int
    created_at: datetime
    finished_at: datetime | None
    content: dict[str, Any] | None
    template: dict[str, Any] | None = None
    track_links: bool = True
    goal: dict[str, Any] | None = None
    holdout_percent: float = 0
    conversions: dict[str, Any] | None = Field(
        None, description="With a goal: treatment and holdout {people, converted, rate, revenue}, lift, and "
                          "whether the window is still counting")
    figures: dict[str, int] = Field(default_factory=dict, description="messages by status; stops by reason")


def _out(found: dict[str, Any]) -> BroadcastOut:
    return BroadcastOut(**{k: found[k] for k in BroadcastOut.model_fields if k in found})


@router.post("", status_code=201, response_model=BroadcastOut, summary="Schedule a broadcast to a segment")
def create_broadcast(request: Request, caller: Sender, body: BroadcastIn) -> BroadcastOut:
    with write(runtime_of(request).engine) as conn:
        return _out(broadcasts.create(conn, caller.workspace_id, name=body.name, segment_id=body.segment_id,
                                      channel=body.channel, purpose=body.purpose, content=body.content,
                                      template=body.template, track_links=body.track_links, goal=body.goal,
                                      holdout_percent=body.holdout_percent,
                                      send_at=body.send_at, rate_per_minute=body.rate_per_minute,
                                      created_by=caller.actor, now=clock.now()))


@router.post("/preview", summary="Audience size and the contact policy's verdicts on a sample")
def preview_broadcast(request: Request, caller: Reader, body: PreviewIn) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return broadcasts.preview(conn, caller.workspace_id, segment_id=body.segment_id, channel=body.channel,
                                  purpose=body.purpose, now=clock.now())


@router.get("", response_model=list[BroadcastOut])
def list_broadcasts(request: Request, caller: Reader) -> list[BroadcastOut]:
    from siyu.messaging import broadcast_store

    with read(runtime_of(request).engine) as conn:
        return [_out({**b, **broadcasts.as_written(b["content"])})
                for b in broadcast_store.listing(conn, caller.workspace_id)]


@router.get("/{broadcast_id}", response_model=BroadcastOut)
def get_broadcast(request: Request, caller: Reader, broadcast_id: BroadcastId) -> BroadcastOut:
    with read(runtime_of(request).engine) as conn:
        return _out(broadcasts.describe(conn, caller.workspace_id, broadcast_id))


@router.post("/{broadcast_id}/test", summary="Send the broadcast's message to chosen people now (same policies)")
def test_broadcast(request: Request, caller: Sender, broadcast_id: BroadcastId, body: TestIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        ids = broadcasts.test_send(conn, caller.workspace_id, broadcast_id, body.profile_ids, clock.now())
    return {"message_ids": ids}


@router.post("/{broadcast_id}/cancel", response_model=BroadcastOut,
             summary="Cancel; messages not yet claimed are stopped with broadcast.cancelled")
def cancel_broadcast(request: Request, caller: Sender, broadcast_id: BroadcastId) -> BroadcastOut:
    with write(runtime_of(request).engine) as conn:
        return _out(broadcasts.cancel(conn, caller.workspace_id, broadcast_id, clock.now()))
