"""One person's conversation with the brand: what they wrote (``Message Received`` events) and what
was sent to them (outbox rows), interleaved by time; and a reply inside WeChat's 48-hour
customer-service window, queued through the outbox so the contact policy decides as for any
message. A reply the policy would refuse now is refused with the policy's reason, not queued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.messaging import outbox
from siyu.messaging import store as messaging_store
from siyu.messaging.models import Channel, Message, Purpose
from siyu.profiles.read_store import resolve_profile_id
from siyu.staff import store
from siyu.staff.errors import StaffConflict, StaffError

REPLY_CHANNEL = Channel.WECHAT_CS
MAX_REPLY = 2000


def _text_of(message: Message) -> str | None:
    payload = message.payload
    for path in (("text", "content"), ("content",), ("text",), ("subject",)):
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return None


def interleave(inbound: list[dict[str, Any]], outbound: list[Message]) -> list[dict[str, Any]]:
    """Both sides as one list, oldest first (ties: inbound first — a reply follows what it answers)."""
    items = [{"direction": "in", "at": item["at"], "text": item["properties"].get("content"),
              "kind": item["properties"].get("msg_type") or "text", "event_id": item["event_id"]}
             for item in inbound]
    items += [{"direction": "out", "at": message.sent_at or message.created_at, "text": _text_of(message),
               "kind": message.channel.value, "message_id": message.id, "status": message.status.value,
               "reason": message.reason, "source": message.source} for message in outbound]
    return sorted(items, key=lambda item: (item["at"], item["direction"] != "in"))


def conversation(conn: Connection, workspace_id: int, profile_id: int, now: datetime, *,
                 limit: int = 100) -> dict[str, Any]:
    person = resolve_profile_id(conn, workspace_id, profile_id)
    inbound = store.inbound_messages(conn, workspace_id, person, limit=limit)
    outbound = messaging_store.of_profile(conn, workspace_id, person, limit=limit)
    verdict, _ = outbox.check(conn, workspace_id, profile_id=person, channel=REPLY_CHANNEL,
                              purpose=Purpose.TRANSACTIONAL, now=now)
    owner = store.current_owner(conn, workspace_id, person)
    return {"profile_id": person, "owner": owner.userid if owner else None,
            "reply": {"allowed": verdict.action == "send", "reason": verdict.reason, "detail": verdict.detail,
                      "channel": REPLY_CHANNEL.value},
            "items": interleave(inbound, outbound)[-limit:]}


def reply(conn: Connection, workspace_id: int, profile_id: int, *, text: str, key: str, actor: str,
          now: datetime) -> tuple[Message, bool]:
    """Queue a customer-service text, once per ``key``; refused (``staff.reply_refused``, the policy's
    reason in ``details``) when the policy would not let it go now. The policy is asked first, so a
    key retried after the window closed is refused rather than answered with the first message."""
    if not text.strip() or len(text) > MAX_REPLY:
        raise StaffError(f"A reply needs 1-{MAX_REPLY} characters of text.", details={"field": "text"})
    person = resolve_profile_id(conn, workspace_id, profile_id)
    verdict, _ = outbox.check(conn, workspace_id, profile_id=person, channel=REPLY_CHANNEL,
                              purpose=Purpose.TRANSACTIONAL, now=now)
    if verdict.action != "send":
        raise StaffConflict(f"The reply can't go now: {verdict.detail}", code="staff.reply_refused",
                            details={"reason": verdict.reason, "detail": verdict.detail})
    return outbox.queue(conn, workspace_id, profile_id=person, channel=REPLY_CHANNEL, purpose=Purpose.TRANSACTIONAL,
                        content={"msgtype": "text", "text": {"content": text}}, now=now, source="staff", key=key,
                        track_links=False)
