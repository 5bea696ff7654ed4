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
from siyu.messaging import outbox, receipt_store, store
from siyu.messaging.models import Channel, Message, Purpose
from siyu.messaging.receipt_store import Receipt
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
    track_links: bool = Field(True, description="false: links are sent as they are, no open pixel")


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
    delivered_at: datetime | None = Field(None, description="first delivery receipt (WeChat, SMS)")
    opened_at: datetime | None = Field(None, description="first open of an HTML e-mail (its pixel)")
    clicked_at: datetime | None = Field(None, description="first click on a tracked link")


class LinkOut(BaseModel):
    kind: str = Field(description="link, or open for the e-mail's pixel")
    url: str | None
    hits: int = Field(description="clicks (opens for the pixel), a double fetch within seconds counted once")
    last_hit_at: datetime | None


class MessageDetailOut(MessageOut):
    links: list[LinkOut] = Field(default_factory=list, description="tracked links and their clicks")


class CheckOut(BaseModel):
    action: str
    reason: str | None
    detail: str | None
    until: datetime | None
    address: str | None


def _out(message: Message, receipt: Receipt | None = None) -> MessageOut:
    receipt = receipt or Receipt()
    return MessageOut(id=message.id, profile_id=message.profile_id, channel=message.channel, purpose=message.purpose,
                      source=message.source, status=message.status.value, final=message.status.final,
                      reason=message.reason,
                      detail=message.detail, recipient=message.recipient, attempts=message.attempts,
                      due_at=message.due_at, created_at=message.created_at, sent_at=message.sent_at,
                      payload=message.payload, delivered_at=receipt.delivered_at, opened_at=receipt.opened_at,
                      clicked_at=receipt.clicked_at)


@router.post("", status_code=202, response_model=MessageOut,
             summary="Queue a message (202; 200 with the first message when the idempotency key was used)")
def queue_message(request: Request, caller: Sender, body: MessageIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        message, created = outbox.queue(conn, caller.workspace_id, profile_id=body.profile_id, channel=body.channel,
                                        purpose=body.purpose, content=body.content, now=clock.now(),
                                        key=body.idempotency_key, send_at=body.send_at, template=body.template,
                                        track_links=body.track_links)
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
    from siyu.messaging.render import preview_for, signing_of

    outbox.as_template(body.channel, body.purpose, body.template)
    runtime = runtime_of(request)
    # The signed links a preview shows work: whoever holds one opens the person's member centre or
    # answers a survey as them. So they are signed only for a caller who could issue both anyway
    # (POST /api/loyalty/members/{id}/centre-link needs profiles:write, survey links messages:send);
    # for a reader they render empty and the preview warns, as before.
    may_issue = caller.can(Permission.PROFILES_WRITE) and caller.can(Permission.MESSAGES_SEND)
    signing = signing_of(runtime) if may_issue else None
    with read(runtime.engine) as conn:
        rendered = preview_for(conn, caller.workspace_id, body.profile_id, body.channel, body.purpose, body.template,
                               signing)
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
        found = store.of_profile(conn, caller.workspace_id, live, limit=limit, before_id=before_id)
        receipts = receipt_store.receipts_of(conn, caller.workspace_id, [m.id for m in found])
        return [_out(m, receipts.get(m.id)) for m in found]


class SubscribeGrantIn(BaseModel):
    profile_id: ProfileId
    template_id: str = Field(min_length=1, max_length=128, description="The subscription template the person "
                             "accepted (one acceptance = one notice)")
    granted_at: datetime | None = Field(None, description="When they accepted (default: now)")
    idempotency_key: str | None = Field(None, min_length=1, max_length=outbox.MAX_KEY,
                                        description="The same key again records nothing (a repeated callback)")


@router.post("/subscribe-grants", status_code=201,
             summary="Record a one-time subscription to a WeChat subscription notice (201; 200 when the key was used)")
def record_subscribe_grant(request: Request, caller: Sender, body: SubscribeGrantIn) -> Any:
    from siyu.messaging import subscriptions

    with write(runtime_of(request).engine) as conn:
        found = subscriptions.grant(conn, caller.workspace_id, profile_id=body.profile_id,
                                    template_id=body.template_id, now=clock.now(), granted_at=body.granted_at,
                                    key=body.idempotency_key)
    return found if found["created"] else JSONResponse(found, status_code=200)


@router.get("/subscribe-grants", summary="A person's one-time subscriptions, newest first, with the message "
            "that used each")
def list_subscribe_grants(request: Request, caller: Reader,
                          profile_id: Annotated[int, Query(ge=1, le=2**62)]) -> list[dict[str, Any]]:
    from siyu.profiles.read_store import resolve_profile_id

    with read(runtime_of(request).engine) as conn:
        live = resolve_profile_id(conn, caller.workspace_id, profile_id)
        return store.subscribe_grants_of(conn, caller.workspace_id, live)


@router.get("/{message_id}", response_model=MessageDetailOut, summary="One message, with its receipts and links")
def get_message(request: Request, caller: Reader,
                message_id: Annotated[int, Path(ge=1, le=2**62)]) -> MessageDetailOut:
    with read(runtime_of(request).engine) as conn:
        message = store.get(conn, caller.workspace_id, message_id)
        if message is None:
            raise outbox.MessagingError(f"No message {message_id} in this workspace.", code="messaging.not_found",
                                        status=404)
        receipt = receipt_store.receipts_of(conn, caller.workspace_id, [message.id]).get(message.id)
        tracked = receipt_store.links_of(conn, caller.workspace_id, message.id)
    return MessageDetailOut(**_out(message, receipt).model_dump(), links=[LinkOut(**link) for link in tracked])
