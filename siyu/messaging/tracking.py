"""Link and open tracking: applied when a message is handed to its channel, recorded when people
follow a link (``/r/<token>``) or open an e-mail (``/o/<token>.gif``).

Tracking is on unless the message (or its broadcast) says ``"track_links": false`` — stored in the
payload as ``$track_links`` and never sent — or the workspace turns it off
(``settings.messaging.track_links: false``; ``track_opens: false`` keeps links but drops the pixel).
It needs ``SIYU_PUBLIC_URL``: the worker passes it; without it nothing is rewritten.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu.messaging import links, receipt_store, receipts
from siyu.messaging.models import Channel, Message
from siyu.workspaces.models import Workspace

# A second fetch of one link or pixel this soon after the first is the same act: mail clients and
# chat apps fetch twice (a preview, then the page), and people double-tap. Each later click counts.
DOUBLE_FETCH = timedelta(seconds=5)


def tracking_wanted(workspace: Workspace, payload: dict[str, Any]) -> tuple[bool, bool]:
    """(track links, add the open pixel) for this message in this workspace."""
    settings = (workspace.settings or {}).get("messaging") or {}
    if payload.get(links.TRACK_KEY) is False or settings.get("track_links") is False:
        return False, False
    return True, settings.get("track_opens") is not False


def sendable(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the channel gets it: siyu's own ``$track_links`` flag, a journey's ``$policy``
    overrides and the ``$event`` a template read removed (the first two stay on the row, so a retry is
    decided under the same overrides)."""
    return {k: v for k, v in payload.items() if k not in (links.TRACK_KEY, "$policy", "$event")}


def track(conn: Connection, workspace: Workspace, message: Message, public_url: str, now: datetime) -> dict[str, Any]:
    """The message's payload with its links replaced by tracked ones (and, for HTML e-mail, the open
    pixel added); the tokens are made once per (message, url), so a retry sends the same links."""
    want_links, want_pixel = tracking_wanted(workspace, message.payload)
    payload = message.payload
    if not want_links:
        return payload
    base = public_url.rstrip("/")
    found = links.urls_in(message.channel, payload, base)
    tokens = receipt_store.ensure_links(conn, message.workspace_id, message.id, message.profile_id, found, now)
    if tokens:
        payload = links.rewrite(message.channel, payload,
                                lambda url: f"{base}/r/{tokens[url]}" if url in tokens else None)
    if want_pixel and message.channel is Channel.EMAIL and isinstance(payload.get("html"), str) and payload["html"]:
        pixel = receipt_store.ensure_links(conn, message.workspace_id, message.id, message.profile_id,
                                           [receipt_store.OPEN_KEY], now, kind="open")[receipt_store.OPEN_KEY]
        payload = {**payload, "html": links.with_pixel(payload["html"], f"{base}/o/{pixel}.gif")}
    return payload


def follow(conn: Connection, token: str, now: datetime) -> str | None:
    """Where a tracked link leads (with UTM parameters), recording the click; None for an unknown token."""
    link = receipt_store.link_by_token(conn, token)
    if link is None or link.kind != "link" or link.url is None:
        return None
    if receipt_store.count_hit(conn, link, now, DOUBLE_FETCH):
        receipt_store.mark_receipt(conn, link.workspace_id, link.message_id, "clicked_at", now)
        receipts.record_event(conn, link.workspace_id, link.profile_id, receipts.CLICKED, {
            "url": link.url, "message_id": link.message_id, "channel": link.channel.value,
            "source": link.source}, now)
    return links.with_utm(link.url, link.channel.value, link.source)


def opened(conn: Connection, token: str, now: datetime) -> bool:
    """Record an open of the e-mail whose pixel this is; False for an unknown token."""
    link = receipt_store.link_by_token(conn, token)
    if link is None or link.kind != "open":
        return False
    if receipt_store.count_hit(conn, link, now, DOUBLE_FETCH):
        receipt_store.mark_receipt(conn, link.workspace_id, link.message_id, "opened_at", now)
        receipts.record_event(conn, link.workspace_id, link.profile_id, receipts.OPENED, {
            "message_id": link.message_id, "channel": link.channel.value, "source": link.source}, now)
    return True
