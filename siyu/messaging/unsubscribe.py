"""Unsubscribe links: one signed link per person and channel, honoured with one click.

Every marketing e-mail carries ``List-Unsubscribe: <SIYU_PUBLIC_URL/u/TOKEN>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058): a mail client POSTs to the link and
the person is out, with no page, cookie or login in between (Gmail and Yahoo require this of bulk
senders since February 2024). Opening the link shows a page with one button that does the same.
The token is signed with the workspace-independent secret, names workspace, person and channel
family, and never expires (an old e-mail must still work). Unsubscribing revokes marketing consent
for that channel and writes it to the person's timeline (``Consent Changed``, and ``Unsubscribed``
when they were not out already); the contact policy then stops every marketing message on that
channel (transactional ones still go, unless those are revoked too).
"""

from __future__ import annotations

from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from siyu import clock
from siyu.messaging import receipt_store, receipts, store
from siyu.messaging.models import Message, Purpose
from siyu.profiles import editing
from siyu.runtime import Runtime

SALT = "siyu-unsubscribe"


def token_for(secret: str, workspace_id: int, profile_id: int, channel: str) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps([workspace_id, profile_id, channel])


def read_token(secret: str, token: str) -> tuple[int, int, str] | None:
    try:
        workspace_id, profile_id, channel = URLSafeSerializer(secret, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(workspace_id, int) and isinstance(profile_id, int) and isinstance(channel, str)):
        return None
    return workspace_id, profile_id, channel


def links(rt: Runtime) -> Callable[[Message], str | None]:
    """The delivery worker's unsubscribe link for a message: marketing messages only."""
    secret = rt.session_secret()
    base = rt.config.public_url

    def link(message: Message) -> str | None:
        if message.purpose is not Purpose.MARKETING:
            return None
        return f"{base}/u/{token_for(secret, message.workspace_id, message.profile_id, message.channel.consent.value)}"

    return link


def unsubscribe(conn: Connection, workspace_id: int, profile_id: int, channel: str) -> bool:
    """Revoke the person's marketing consent on ``channel``; True (and an ``Unsubscribed`` event)
    when they were not out already — a mail client's one-click POST followed by the person pressing
    the button is one unsubscribe. Concurrency: the person's lock makes read-then-write one step
    on PostgreSQL; SQLite's write transaction already has the database to itself."""
    store.lock_person(conn, workspace_id, profile_id)
    already = receipt_store.consent_status(conn, workspace_id, profile_id, channel, Purpose.MARKETING.value)
    editing.set_consent(conn, workspace_id, profile_id, channel, Purpose.MARKETING.value, "revoked",
                        source="unsubscribe_link", actor="customer")
    if already == "revoked":
        return False
    receipts.record_event(conn, workspace_id, profile_id, receipts.UNSUBSCRIBED, {
        "channel": channel, "purpose": Purpose.MARKETING.value, "source": "unsubscribe_link"}, clock.now())
    return True
