"""One-time subscriptions to WeChat subscription notices (一次性订阅 / 订阅通知): recording that a
person accepted one, so that one notice of that template may reach them.

WeChat's rule: each acceptance allows one notice of the template; accepting again under the same
scene does not add up, and a notice without a subscription left is refused with 43101
(docs/messaging-rules.md). The contact policy stops such a notice itself (``policy.no_subscription``)
and a notice the worker decides to send takes its grant in the same transaction
(``store.update_message``). Grants arrive through ``POST /api/messages/subscribe-grants`` today; the
official account's ``subscribe_msg_popup_event`` callback is meant to feed the same function.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.messaging import store
from siyu.messaging.outbox import MAX_KEY, MessagingError
from siyu.profiles.read_store import resolve_profile_id

MAX_TEMPLATE_ID = 128


def grant(conn: Connection, workspace_id: int, *, profile_id: int, template_id: str, now: datetime,
          granted_at: datetime | None = None, source: str = "api", key: str | None = None) -> dict[str, Any]:
    """Record one acceptance (once per ``key``); the person's live profile gets it."""
    template_id = template_id.strip()
    if not 1 <= len(template_id) <= MAX_TEMPLATE_ID:
        raise MessagingError(f"'template_id' must be 1-{MAX_TEMPLATE_ID} characters.",
                             details={"field": "template_id"})
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise MessagingError(f"'idempotency_key' must be 1-{MAX_KEY} characters.", details={"field": "idempotency_key"})
    if granted_at is not None and granted_at.tzinfo is None:
        raise MessagingError("'granted_at' needs a time zone (2026-11-30T10:00:00+08:00).",
                             details={"field": "granted_at"})
    if granted_at is not None and granted_at > now:
        raise MessagingError("'granted_at' is in the future.", details={"field": "granted_at"})
    live = resolve_profile_id(conn, workspace_id, profile_id)
    grant_id, created = store.record_subscribe_grant(conn, workspace_id, profile_id=live, template_id=template_id,
                                                     granted_at=granted_at or now, now=now, source=source,
                                                     key=None if key is None else f"{source}:{key}")
    return {"id": grant_id, "profile_id": live, "template_id": template_id, "created": created}
