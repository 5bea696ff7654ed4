"""All SQL of what comes back after a send: tracked links and pixels, receipts, and the outbox
updates a receipt makes (a late failure, a confirmed send)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, or_, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import consents, message_links, message_receipts, messages
from siyu.messaging import store
from siyu.messaging.models import Channel, Message, Status

OPEN_KEY = "open"  # url_key of a message's open pixel
RECEIPT_FIELDS = ("delivered_at", "opened_at", "clicked_at")


@dataclass(frozen=True)
class TrackedLink:
    token: str
    workspace_id: int
    message_id: int
    profile_id: int
    kind: str  # link | open
    url: str | None
    channel: Channel
    source: str  # the message's source: api, broadcast:12, journey:3 …


@dataclass(frozen=True)
class Receipt:
    delivered_at: datetime | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None


def new_token() -> str:
    """12 URL-safe characters, 72 random bits: short enough for an SMS, not guessable."""
    return secrets.token_urlsafe(9)


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def ensure_links(conn: Connection, workspace_id: int, message_id: int, profile_id: int, urls: Sequence[str],
                 now: datetime, *, kind: str = "link") -> dict[str, str]:
    """The token of each URL of a message (the pixel: ``kind="open"``, ``urls=[OPEN_KEY]``), made
    once: a retried send gets the tokens of the first attempt. Insert-or-nothing on the unique
    (workspace, message, url_key), then read back — never check-then-insert."""
    if not urls:
        return {}
    keys = {url: OPEN_KEY if kind == "open" else url_key(url) for url in urls}
    conn.execute(upsert(conn, message_links).values([
        {"token": new_token(), "workspace_id": workspace_id, "message_id": message_id, "profile_id": profile_id,
         "kind": kind, "url": None if kind == "open" else url, "url_key": key, "hits": 0, "created_at": now}
        for url, key in keys.items()]).on_conflict_do_nothing(
        index_elements=["workspace_id", "message_id", "url_key"]))
    tokens = {r.url_key: r.token for r in conn.execute(select(message_links.c.url_key, message_links.c.token).where(
        message_links.c.workspace_id == workspace_id, message_links.c.message_id == message_id,
        message_links.c.url_key.in_(list(keys.values()))))}
    return {url: tokens[key] for url, key in keys.items()}


def link_by_token(conn: Connection, token: str) -> TrackedLink | None:
    """tenancy: cross-workspace (a clicked token is all there is; it names its workspace)"""
    row = conn.execute(select(message_links, messages.c.channel, messages.c.source).join(
        messages, (messages.c.workspace_id == message_links.c.workspace_id)
        & (messages.c.id == message_links.c.message_id)).where(message_links.c.token == token)).first()
    if row is None:
        return None
    return TrackedLink(token=row.token, workspace_id=row.workspace_id, message_id=row.message_id,
                       profile_id=row.profile_id, kind=row.kind, url=row.url, channel=Channel(row.channel),
                       source=row.source)


def count_hit(conn: Connection, link: TrackedLink, now: datetime, window: timedelta) -> bool:
    """Count a click or open unless the same token was counted within ``window`` (a double fetch).
    One guarded UPDATE, so two fetches racing each other count once."""
    counted = conn.execute(update(message_links).where(
        message_links.c.workspace_id == link.workspace_id, message_links.c.token == link.token,
        or_(message_links.c.last_hit_at.is_(None), message_links.c.last_hit_at <= now - window),
    ).values(hits=message_links.c.hits + 1, last_hit_at=now))
    return counted.rowcount == 1


def mark_receipt(conn: Connection, workspace_id: int, message_id: int, field: str, now: datetime) -> bool:
    """Set ``delivered_at`` / ``opened_at`` / ``clicked_at`` if not set yet; True when this call set it
    (the first receipt of its kind). Upsert guarded by ``IS NULL``: a repeated callback changes nothing."""
    if field not in RECEIPT_FIELDS:
        raise ValueError(f"unknown receipt field {field!r}")
    column = message_receipts.c[field]
    statement = upsert(conn, message_receipts).values(workspace_id=workspace_id, message_id=message_id,
                                                       updated_at=now, **{field: now})
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "message_id"], set_={field: now, "updated_at": now},
        where=column.is_(None)).returning(message_receipts.c.message_id)
    return conn.execute(statement).first() is not None


def receipts_of(conn: Connection, workspace_id: int, message_ids: Sequence[int]) -> dict[int, Receipt]:
    if not message_ids:
        return {}
    rows = conn.execute(select(message_receipts).where(message_receipts.c.workspace_id == workspace_id,
                                                       message_receipts.c.message_id.in_(list(message_ids))))
    return {r.message_id: Receipt(r.delivered_at, r.opened_at, r.clicked_at) for r in rows}


def links_of(conn: Connection, workspace_id: int, message_id: int) -> list[dict[str, Any]]:
    """A message's tracked links with their click counts (the pixel's hits are its opens)."""
    rows = conn.execute(select(message_links.c.kind, message_links.c.url, message_links.c.hits,
                               message_links.c.last_hit_at).where(
        message_links.c.workspace_id == workspace_id, message_links.c.message_id == message_id)
        .order_by(message_links.c.kind, message_links.c.created_at, message_links.c.url_key))
    return [{"kind": r.kind, "url": r.url, "hits": r.hits, "last_hit_at": r.last_hit_at} for r in rows]


def message_by_provider_id(conn: Connection, workspace_id: int, channel: Channel, provider_id: str) -> Message | None:
    found = conn.execute(select(messages.c.id).where(
        messages.c.workspace_id == workspace_id, messages.c.provider_id == provider_id,
        messages.c.channel == channel.value).order_by(messages.c.id.desc()).limit(1)).scalar()
    return None if found is None else store.get(conn, workspace_id, found)


def fail_after_receipt(conn: Connection, message: Message, reason: str, detail: str, now: datetime) -> bool:
    """A sent (or uncertain) message the provider could not deliver becomes ``failed``; True if it did
    now (a repeated receipt finds it failed already and changes nothing)."""
    changed = conn.execute(update(messages).where(
        messages.c.workspace_id == message.workspace_id, messages.c.id == message.id,
        messages.c.status.in_([Status.SENT.value, Status.UNCERTAIN.value])).values(
        status=Status.FAILED.value, reason=reason, detail=detail[:500], updated_at=now))
    return changed.rowcount == 1


def confirm_uncertain(conn: Connection, message: Message, provider_id: str | None, now: datetime) -> None:
    """A message marked ``uncertain`` (no answer from the provider) that a receipt shows was sent."""
    conn.execute(update(messages).where(
        messages.c.workspace_id == message.workspace_id, messages.c.id == message.id,
        messages.c.status == Status.UNCERTAIN.value).values(
        status=Status.SENT.value, provider_id=provider_id or message.provider_id, updated_at=now))


def consent_status(conn: Connection, workspace_id: int, profile_id: int, channel: str, purpose: str) -> str | None:
    return conn.execute(select(consents.c.status).where(
        consents.c.workspace_id == workspace_id, consents.c.profile_id == profile_id,
        consents.c.channel == channel, consents.c.purpose == purpose)).scalar()
