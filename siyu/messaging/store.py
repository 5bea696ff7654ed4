"""All SQL of messaging: the outbox rows, claiming them, the facts a contact policy reads, and the
one-time subscriptions (订阅通知 grants) subscription notices consume."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, desc, func, or_, select, text, update

from siyu.db.dialect import upsert
from siyu.db.tables import consents, events, identities, messages, subscribe_grants
from siyu.messaging.models import REACHED, Channel, Facts, Message, Purpose, Sent, Status

FOLLOW_EVENTS = ("Followed", "Unfollowed")
# What opens WeChat's 48-hour customer-service window: the person writing to the account.
USER_MESSAGE_EVENTS = ("Message Received",)
# What opens WeChat's short allowance of customer-service messages (3 within 1 minute): following, scanning
# a parametric QR code, clicking a menu item of the click kind (developers.weixin.qq.com, 客服消息下发规则).
INTERACTION_EVENTS = ("Followed", "QR Scanned", "Menu Clicked")
HISTORY_DAYS = 31  # longest cap window (30 days) plus a day of time-zone slack
# Who owns a WeCom customer: WeCom's add_external_contact callback names the member (UserID) who
# added the customer (ExternalUserID); recorded as this event with ``properties.userid``. The owner
# sends the customer's mass messages; the latest add wins.
CONTACT_ADDED_EVENTS = ("WeCom Contact Added",)
WECOM_USERID = re.compile(r"[A-Za-z0-9_\-@.]{1,64}")  # WeCom's rule for member userids


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
    """tenancy: scoped by the message's own workspace.

    A subscription notice that becomes ``claimed`` (the worker decided to send it) takes its
    one-time subscription here, in the claim transaction that made the decision (see
    :func:`take_subscribe_grant`)."""
    values = {k: (v.value if isinstance(v, Status) else v) for k, v in values.items()}
    conn.execute(update(messages).where(messages.c.workspace_id == message.workspace_id,
                                        messages.c.id == message.id).values(updated_at=now, **values))
    if message.channel is Channel.WECHAT_SUBSCRIBE and values.get("status") == Status.CLAIMED.value:
        take_subscribe_grant(conn, message.workspace_id, message.profile_id, message.id,
                             subscribe_template_id(values.get("payload") or message.payload))


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
    last_message = last_interaction = None
    if channel.value.startswith("wechat"):
        latest = conn.execute(select(events.c.name).where(
            events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
            events.c.name.in_(FOLLOW_EVENTS)).order_by(desc(events.c.timestamp), desc(events.c.id)).limit(1)).first()
        followed = None if latest is None else latest.name == "Followed"
        last_message = conn.execute(select(func.max(events.c.timestamp)).where(
            events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
            events.c.name.in_(USER_MESSAGE_EVENTS))).scalar_one()
        last_interaction = conn.execute(select(func.max(events.c.timestamp)).where(
            events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
            events.c.name.in_(INTERACTION_EVENTS))).scalar_one()
    subscription = None
    if channel is Channel.WECHAT_SUBSCRIBE:
        subscription = has_subscribe_grant(conn, workspace_id, profile_id, excluding)
    return Facts(consents=consent, address=address(conn, workspace_id, profile_id, channel, scope),
                 wechat_followed=followed, last_user_message_at=last_message, last_interaction_at=last_interaction,
                 history=history,
                 subscription=subscription)


ADDRESS_TYPES: dict[Channel, str] = {
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
    kind = ADDRESS_TYPES[channel]
    wanted = identities.c.type == f"{kind}:{scope}" if scope else or_(identities.c.type == kind,
                                                                      identities.c.type.like(f"{kind}:%"))
    rows: Sequence[Any] = conn.execute(select(identities.c.type, identities.c.value).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id, wanted).order_by(
        identities.c.last_seen_at.desc(), identities.c.type, identities.c.value)).all()
    if not rows:
        return None
    found = f"{rows[0].type.split(':', 1)[1]}:{rows[0].value}" if ":" in rows[0].type else rows[0].value
    if channel is Channel.WECOM:
        owner = wecom_owner(conn, workspace_id, profile_id)
        return f"{found}/{owner}" if owner else found
    return found


def wecom_owner(conn: Connection, workspace_id: int, profile_id: int) -> str | None:
    """The member who last added the person on WeCom (``WeCom Contact Added`` with
    ``properties.userid``), if siyu saw it; a value that can't be a WeCom userid is ignored."""
    for row in conn.execute(select(events.c.properties).where(
            events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
            events.c.name.in_(CONTACT_ADDED_EVENTS)).order_by(desc(events.c.timestamp), desc(events.c.id)).limit(20)):
        userid = row.properties.get("userid") if isinstance(row.properties, dict) else None
        if isinstance(userid, str) and WECOM_USERID.fullmatch(userid):
            return userid
    return None


def sending_scope(settings: dict[str, Any] | None, channel: Channel) -> str | None:
    """The app a WeChat channel sends from (``settings.channels.wechat.appid``), or the corp a WeCom
    message is sent from (``settings.channels.wecom.corpid``), if set up."""
    if channel.value.startswith("wechat"):
        section, key = "wechat", "appid"
    elif channel is Channel.WECOM:
        section, key = "wecom", "corpid"
    else:
        return None
    config = ((settings or {}).get("channels") or {}).get(section) or {}
    scope = config.get(key) if isinstance(config, dict) else None
    return str(scope) if scope else None


# --- one-time subscriptions (subscription notices) ------------------------------------------------
#
# A grant is *free* for a message when nobody holds it, when that message holds it already (a
# re-decision after a lease ran out or a retry), or when its holder never reached the person
# (failed, dead, stopped, or queued again for a retry): WeChat spends a subscription only on a
# notice it accepted. Decisions for one person are serialised (``lock_person`` on PostgreSQL,
# BEGIN IMMEDIATE on SQLite), so the check in ``facts`` and the take in ``update_message`` see the
# same grants and two notices can never take one grant.


def subscribe_template_id(payload: dict[str, Any]) -> str | None:
    """The template of a subscription notice, from its content or its (literal) template."""
    from siyu.messaging.outbox import TEMPLATE_KEY

    template = payload.get(TEMPLATE_KEY)
    source = template if isinstance(template, dict) else payload
    template_id = source.get("template_id")
    return template_id.strip() if isinstance(template_id, str) and template_id.strip() else None


def record_subscribe_grant(conn: Connection, workspace_id: int, *, profile_id: int, template_id: str,
                           granted_at: datetime, now: datetime, source: str = "api",
                           key: str | None = None) -> tuple[int, bool]:
    """Record one accepted one-time subscription; once per ``key``. Returns (id, created)."""
    inserted = conn.execute(upsert(conn, subscribe_grants).values(
        workspace_id=workspace_id, profile_id=profile_id, template_id=template_id, granted_at=granted_at,
        source=source, idempotency_key=key, created_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"]).returning(
        subscribe_grants.c.id)).first()
    if inserted is not None:
        return int(inserted.id), True
    existing = conn.execute(select(subscribe_grants.c.id).where(
        subscribe_grants.c.workspace_id == workspace_id, subscribe_grants.c.idempotency_key == key)).scalar_one()
    return int(existing), False


def _free_grants(workspace_id: int, profile_id: int, template_id: str | None, message_id: int | None) -> Any:
    holder = select(messages.c.id).where(messages.c.workspace_id == workspace_id,
                                         messages.c.id == subscribe_grants.c.used_by_message,
                                         messages.c.status.in_([s.value for s in REACHED]))
    free = or_(subscribe_grants.c.used_by_message.is_(None), ~holder.exists())
    if message_id is not None:
        free = or_(free, subscribe_grants.c.used_by_message == message_id)
    query = select(subscribe_grants.c.id, subscribe_grants.c.used_by_message).where(
        subscribe_grants.c.workspace_id == workspace_id, subscribe_grants.c.profile_id == profile_id, free)
    if template_id is not None:
        query = query.where(subscribe_grants.c.template_id == template_id)
    return query


def has_subscribe_grant(conn: Connection, workspace_id: int, profile_id: int, message_id: int | None) -> bool:
    """Whether a free grant exists for the message's template — for any template when there is no
    message (a policy check or a broadcast preview)."""
    template_id = None
    if message_id is not None:
        payload = conn.execute(select(messages.c.payload).where(
            messages.c.workspace_id == workspace_id, messages.c.id == message_id)).scalar_one_or_none()
        template_id = subscribe_template_id(dict(payload or {}))
        if template_id is None:
            return False
    return conn.execute(_free_grants(workspace_id, profile_id, template_id, message_id).limit(1)).first() is not None


def take_subscribe_grant(conn: Connection, workspace_id: int, profile_id: int, message_id: int,
                         template_id: str | None) -> bool:
    """Make ``message_id`` the holder of a free grant (the one it holds already, else the oldest)."""
    if template_id is None:
        return False
    rows = conn.execute(_free_grants(workspace_id, profile_id, template_id, message_id).order_by(
        subscribe_grants.c.granted_at, subscribe_grants.c.id)).all()
    if any(row.used_by_message == message_id for row in rows):
        return True
    if not rows:
        return False
    conn.execute(update(subscribe_grants).where(subscribe_grants.c.workspace_id == workspace_id,
                                                subscribe_grants.c.id == rows[0].id).values(
        used_by_message=message_id))
    return True


def subscribe_grants_of(conn: Connection, workspace_id: int, profile_id: int) -> list[dict[str, Any]]:
    """A person's grants, newest first, with the message holding each (if any)."""
    return [dict(row._mapping) for row in conn.execute(select(
        subscribe_grants.c.id, subscribe_grants.c.template_id, subscribe_grants.c.granted_at,
        subscribe_grants.c.used_by_message, subscribe_grants.c.source).where(
        subscribe_grants.c.workspace_id == workspace_id, subscribe_grants.c.profile_id == profile_id).order_by(
        desc(subscribe_grants.c.granted_at), desc(subscribe_grants.c.id)).limit(200))]


def fold_subscribe_grants(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    """A profile merge: the merged-away profile's one-time subscriptions (used or free) are the
    survivor's — the person accepted them, whichever profile siyu knew them by."""
    conn.execute(update(subscribe_grants).where(subscribe_grants.c.workspace_id == workspace_id,
                                                subscribe_grants.c.profile_id == from_id).values(profile_id=into_id))


MERGED = "policy.merged"


def stop_queued(conn: Connection, workspace_id: int, message_ids: Sequence[int], reason: str, now: datetime,
                detail: str) -> int:
    """Stop these messages if they are still ``queued`` (one a worker holds goes its way); returns how
    many stopped."""
    if not message_ids:
        return 0
    return conn.execute(update(messages).where(
        messages.c.workspace_id == workspace_id, messages.c.id.in_(sorted(set(message_ids))),
        messages.c.status == Status.QUEUED.value).values(
        status=Status.STOPPED.value, reason=reason, detail=detail[:500], updated_at=now)).rowcount


def fold_messages(conn: Connection, workspace_id: int, from_id: int, into_id: int, now: datetime) -> None:
    """A profile merge: the merged-away profile's messages become the survivor's — its message log,
    and the history its frequency caps and cooldown count. What is still ``queued`` is decided for
    the survivor when it is due (their address, consent and caps), except a broadcast the survivor
    has a message of already: that one stops with ``policy.merged``, so one person gets one copy.
    (A journey's queued messages of an entry the merge exits are stopped by the journeys' fold.)
    Two set-based statements."""
    mine = messages.alias("mine")
    survivor_has = select(mine.c.id).where(mine.c.workspace_id == workspace_id, mine.c.profile_id == into_id,
                                           mine.c.source == messages.c.source)
    conn.execute(update(messages).where(
        messages.c.workspace_id == workspace_id, messages.c.profile_id == from_id,
        messages.c.status == Status.QUEUED.value, messages.c.source.like("broadcast:%"), survivor_has.exists())
        .values(status=Status.STOPPED.value, reason=MERGED, updated_at=now,
                detail="The person merged into a profile that has this broadcast's message already."))
    conn.execute(update(messages).where(messages.c.workspace_id == workspace_id, messages.c.profile_id == from_id)
                 .values(profile_id=into_id, updated_at=now))
