"""All SQL of messaging: the outbox rows, claiming them, and the facts a contact policy reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, desc, func, or_, select, text, update

from siyu.db.dialect import upsert
from siyu.db.tables import consents, events, identities, messages
from siyu.messaging.models import REACHED, Channel, Facts, Message, Purpose, Sent, Status

FOLLOW_EVENTS = ("Followed", "Unfollowed")
# What opens WeChat's 48-hour customer-service window: the person writing to the account.
USER_MESSAGE_EVENTS = ("Message Received",)
HISTORY_DAYS = 31  # longest cap window (30 days) plus a day of time-zone slack


def _message(row: Any) -> Message:
    return Message(id=row.id, workspace_id=row.workspace_id, profile_id=row.profile_id, channel=Channel(row.channel),
                   purpose=Purpose(row.purpose), source=row.source, idempotency_key=row.idempotency_key,
                   status=Status(row.status), payload=dict(row.payload or {}), due_at=row.due_at,
                   attempts=row.attempts, recipient=row.recipient, reason=row.reason, detail=row.detail,
                   provider_id=row.provider_id, created_at=row.created_at, sent_at=row.sent_at,
                   lease_until=row.lease_until)


def enqueue(conn: Connection, workspace_id: int, *, profile_id: int, channel: Channel, purpose: Purpose, source: str,
            key: str, payload: dict[str, Any], due_at: datetime, now: datetime) -> tuple[Message, bool]:
    """Queue a message once per key; returns the row and whether this call created it."""
    inserted = conn.execute(upsert(conn, messages).values(
        workspace_id=workspace_id, profile_id=profile_id, channel=channel.value, purpose=purpose.value,
        source=source, idempotency_key=key, status=Status.QUEUED.value, payload=payload, due_at=due_at,
        attempts=0, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"]).returning(messages.c.id)).first()
    row = conn.execute(select(messages).where(messages.c.workspace_id == workspace_id,
                                              messages.c.idempotency_key == key)).one()
    return _message(row), inserted is not None


def get(conn: Connection, workspace_id: int, message_id: int) -> Message | None:
    row = conn.execute(select(messages).where(messages.c.workspace_id == workspace_id,
                                              messages.c.id == message_id)).first()
    return None if row is None else _message(row)


def of_profile(conn: Connection, workspace_id: int, profile_id: int, *, limit: int = 100,
               before_id: int | None = None) -> list[Message]:
    query = select(messages).where(messages.c.workspace_id == workspace_id, messages.c.profile_id == profile_id)
    if before_id is not None:
        query = query.where(messages.c.id < before_id)
    return [_message(r) for r in conn.execute(query.order_by(desc(messages.c.id)).limit(limit))]


def claim_due(conn: Connection, now: datetime, limit: int, workspace_id: int | None = None) -> list[Message]:
    """Rows to work on, oldest due first: queued ones whose time has come, and ones whose sending
    worker died (lease over). Several workers on PostgreSQL skip each other's rows; SQLite runs
    this inside BEGIN IMMEDIATE, one claimer at a time.

    tenancy: cross-workspace (the worker serves every workspace; each row carries its own)
    """
    due = or_(and_(messages.c.status == Status.QUEUED.value, messages.c.due_at <= now),
              and_(messages.c.status.in_([Status.CLAIMED.value, Status.SENDING.value]),
                   messages.c.lease_until <= now))
    query = select(messages).where(due).order_by(messages.c.due_at, messages.c.id).limit(limit)
    if workspace_id is not None:
        query = query.where(messages.c.workspace_id == workspace_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_message(r) for r in conn.execute(query)]


def lock_person(conn: Connection, workspace_id: int, profile_id: int) -> None:
    """Serialise policy decisions for one person across workers (caps count what the others sent)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7202, hashtext(:key))"),
                     {"key": f"{workspace_id}:{profile_id}"})


def update_message(conn: Connection, message: Message, now: datetime, **values: Any) -> None:
    """tenancy: scoped by the message's own workspace."""
    values = {k: (v.value if isinstance(v, Status) else v) for k, v in values.items()}
    conn.execute(update(messages).where(messages.c.workspace_id == message.workspace_id,
                                        messages.c.id == message.id).values(updated_at=now, **values))


def facts(conn: Connection, workspace_id: int, profile_id: int, channel: Channel, now: datetime,
          excluding: int | None = None, scope: str | None = None) -> Facts:
    """What the policy reads; ``excluding`` leaves the message being decided out of the history;
    ``scope`` is the app or corp the channel sends from (its openids come first)."""
    consent = {(r.channel, r.purpose): r.status for r in conn.execute(
        select(consents.c.channel, consents.c.purpose, consents.c.status).where(
            consents.c.workspace_id == workspace_id, consents.c.profile_id == profile_id))}
    history = tuple(Sent(Channel(r.channel), Purpose(r.purpose), r.sent_at) for r in conn.execute(
        select(messages.c.channel, messages.c.purpose, messages.c.sent_at).where(
            messages.c.workspace_id == workspace_id, messages.c.profile_id == profile_id,
            messages.c.status.in_([s.value for s in REACHED]), messages.c.sent_at.is_not(None),
            messages.c.sent_at >= now - timedelta(days=HISTORY_DAYS),
            messages.c.id != (excluding or 0)).order_by(desc(messages.c.sent_at))))
    followed = None
    last_message = None
    if channel.value.startswith("wechat"):
        latest = conn.execute(select(events.c.name).where(
            events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
            events.c.name.in_(FOLLOW_EVENTS)).order_by(desc(events.c.timestamp), desc(events.c.id)).limit(1)).first()
        followed = None if latest is None else latest.name == "Followed"
        last_message = conn.execute(select(func.max(events.c.timestamp)).where(
            events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
            events.c.name.in_(USER_MESSAGE_EVENTS))).scalar_one()
    return Facts(consents=consent, address=address(conn, workspace_id, profile_id, channel, scope),
                 wechat_followed=followed, last_user_message_at=last_message, history=history)


_ADDRESS_TYPES: dict[Channel, str] = {
    Channel.EMAIL: "email", Channel.SMS: "phone", Channel.WECHAT_TEMPLATE: "wechat_openid",
    Channel.WECHAT_SUBSCRIBE: "wechat_openid", Channel.WECHAT_CS: "wechat_openid",
    Channel.WECOM: "wecom_external_userid",
}


def address(conn: Connection, workspace_id: int, profile_id: int, channel: Channel,
            scope: str | None = None) -> str | None:
    """Where the channel reaches the person: their e-mail, phone, openid (``type:scope`` kept so the
    sender knows the app), external user id; a webhook addresses the profile itself. An openid is
    per app: with ``scope`` (the account's appid) only that app's openid will do."""
    if channel is Channel.WEBHOOK:
        return str(profile_id)
    kind = _ADDRESS_TYPES[channel]
    wanted = identities.c.type == f"{kind}:{scope}" if scope else or_(identities.c.type == kind,
                                                                      identities.c.type.like(f"{kind}:%"))
    rows: Sequence[Any] = conn.execute(select(identities.c.type, identities.c.value).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id, wanted).order_by(
        identities.c.last_seen_at.desc(), identities.c.type)).all()
    if not rows:
        return None
    if ":" in rows[0].type:
        return f"{rows[0].type.split(':', 1)[1]}:{rows[0].value}"
    return rows[0].value


def sending_scope(settings: dict[str, Any] | None, channel: Channel) -> str | None:
    """The app a WeChat channel sends from (``settings.channels.wechat.appid``), if set up."""
    if not channel.value.startswith("wechat"):
        return None
    wechat = ((settings or {}).get("channels") or {}).get("wechat") or {}
    appid = wechat.get("appid") if isinstance(wechat, dict) else None
    return str(appid) if appid else None
