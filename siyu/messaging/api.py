"""``/api/messages``: queue a message to a person, look it up, read a person's message log, and ask
what the contact policy would decide."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.messaging import outbox, store
from siyu.messaging.models import Channel, Message, Purpose
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/messages", tags=["messages"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Sender = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
ProfileId = Annotated[int, Field(ge=1, le=2**62)]


class MessageIn(BaseModel):
    profile_id: ProfileId
    channel: Channel
    purpose: Purpose = Purpose.MARKETING
    content: dict[str, Any] | None = Field(None, description="email: {subject, text?, html?}; webhook: any JSON "
                                           "object. Sent as it is.")
    template: dict[str, Any] | None = Field(None, description="The same shape with Jinja2 strings ({{ profile.traits"
                                            ".name | default('亲爱的顾客') }}), rendered for the person at send time; "
                                            "fields may be {\"zh\": …, \"en\": …}. Give content or template.")
    idempotency_key: str | None = Field(None, min_length=1, max_length=outbox.MAX_KEY,
                                        description="The same key again returns the first message, sends nothing")
    send_at: datetime | None = Field(None, description="Not before this time (default: now)")


class PreviewIn(BaseModel):
    profile_id: ProfileId
    channel: Channel
    purpose: Purpose = Purpose.MARKETING
    template: dict[str, Any]


class CheckIn(BaseModel):
    profile_id: ProfileId
    channel: Channel
    purpose: Purpose = Purpose.MARKETING


class MessageOut(BaseModel):
    id: int
    profile_id: int
    channel: Channel
    purpose: Purpose
    source: str
    status: str
    final: bool = Field(description="false while it may still change (queued, claimed, sending)")
    reason: str | None
    detail: str | None
    recipient: str | None
    attempts: int
    due_at: datetime
    created_at: datetime | None
    sent_at: datetime | None
    payload: dict[str, Any]


class CheckOut(BaseModel):
    action: str
    reason: str | None
    detail: str | None
    until: datetime | None
    address: str | None


def _out(message: Message) -> MessageOut:
    return MessageOut(id=message.id, profile_id=message.profile_id, channel=message.channel, purpose=message.purpose,
                      source=message.source, status=message.status.value, final=message.status.final,
                      reason=message.reason,
                      detail=message.detail, recipient=message.recipient, attempts=message.attempts,
                      due_at=message.due_at, created_at=message.created_at, sent_at=message.sent_at,
                      payload=message.payload)


@router.post("", status_code=202, response_model=MessageOut,
             summary="Queue a message (202; 200 with the first message when the idempotency key was used)")
def queue_message(request: Request, caller: Sender, body: MessageIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        message, created = outbox.queue(conn, caller.workspace_id, profile_id=body.profile_id, channel=body.channel,
                                        purpose=body.purpose, content=body.content, now=clock.now(),
                                        key=body.idempotency_key, send_at=body.send_at, template=body.template)
    out = _out(message)
    return out if created else JSONResponse(out.model_dump(mode="json"), status_code=200)


@router.post("/check", response_model=CheckOut, summary="What the contact policy would decide now (nothing queued)")
def check_message(request: Request, caller: Reader, body: CheckIn) -> CheckOut:
    with read(runtime_of(request).engine) as conn:
        verdict, address = outbox.check(conn, caller.workspace_id, profile_id=body.profile_id, channel=body.channel,
                                        purpose=body.purpose, now=clock.now())
    return CheckOut(action=verdict.action, reason=verdict.reason, detail=verdict.detail, until=verdict.until,
                    address=address)


@router.post("/preview", summary="A template rendered for a real person, with warnings (nothing queued)")
def preview_message(request: Request, caller: Reader, body: PreviewIn) -> dict[str, Any]:
    from siyu.messaging.render import preview_for

    outbox.as_template(body.channel, body.purpose, body.template)
    with read(runtime_of(request).engine) as conn:
        rendered = preview_for(conn, caller.workspace_id, body.profile_id, body.channel, body.purpose, body.template)
    return {"language": rendered.language, "payload": rendered.payload, "sendable": rendered.sendable,
            "warnings": [{"code": w.code.value, "field": w.field, "message": w.message, "blocking": w.blocking}
                         for w in rendered.warnings]}


@router.get("", response_model=list[MessageOut], summary="A person's messages, newest first (the message log)")
def message_log(request: Request, caller: Reader, profile_id: Annotated[int, Query(ge=1, le=2**62)],
                before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[MessageOut]:
    from siyu.profiles.read_store import resolve_profile_id

    with read(runtime_of(request).engine) as conn:
        live = resolve_profile_id(conn, caller.workspace_id, profile_id)
        return [_out(m) for m in store.of_profile(conn, caller.workspace_id, live, limit=limit, before_id=before_id)]


@router.get("/{message_id}", response_model=MessageOut)
def get_message(request: Request, caller: Reader, message_id: Annotated[int, Path(ge=1, le=2**62)]) -> MessageOut:
    with read(runtime_of(request).engine) as conn:
        message = store.get(conn, caller.workspace_id, message_id)
    if message is None:
        raise outbox.MessagingError(f"No message {message_id} in this workspace.", code="messaging.not_found",
                                    status=404)
    return _out(message)
