"""WeCom contacts' unionids, fetched by the worker so a WeCom-only contact joins the person's profile.

An ``add_external_contact`` push names the contact by an external user id only. When the corp is
bound to a WeChat open platform, ``externalcontact/get`` (path/92114) also answers the contact's
``unionid`` (for a WeChat user, ``type`` 1), the id the official account's followers carry too. The
worker writes it on the contact's profile as a ``wechat_unionid`` identity through the ingest
pipeline (an ``identify`` message), so the identity graph merges the WeCom contact with the
follower — and a cash reward decided on the contact finds the follower's openid
(:func:`siyu.payments.ledger.send_due` follows the merge).

Never inside the callback request: WeCom expects its answer within 5 seconds and the platform may be
slow. Two steps, each idempotent:

1. **discovery**: ownership spells opened since the workspace's cursor (callback adds, hand-overs) →
   a lookup row per new contact (``INSERT … ON CONFLICT DO NOTHING``), the cursor moved in the same
   transaction (locked: ``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite);
2. **lookup**: due rows looked up one by one; each answer settled with ``UPDATE … WHERE status =
   'due'`` in the same transaction as the identify message, whose message id is derived from the
   contact and deduplicated for ever. Two workers may both ask WeCom about one contact (a read,
   harmless); only one settles it, and the identity is linked once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from siyu.channels.base import ChannelError
from siyu.db.engine import read, write
from siyu.errors import SiyuError
from siyu.staff import contact_store as store

log = logging.getLogger("siyu.staff")
CURSOR = "wecom_contact_details"
BATCH = 100  # lookups per workspace per pass: externalcontact/get is rate-limited per corp
GONE = ("wecom.not_contact", "wecom.invalid_external_userid")  # 84061, 40096: asking again changes nothing
MAX_PAUSE = timedelta(hours=6)


class ContactLookup(StrEnum):
    DUE = store.DUE
    FETCHED = store.FETCHED
    FAILED = store.FAILED


def retry_at(attempts: int, now: datetime) -> datetime:
    """After the n-th failed try: 2ⁿ minutes, at most :data:`MAX_PAUSE` (WeCom busy or rate-limited, a
    token or permission problem an operator fixes: the contact is asked again, never given up)."""
    return now + min(timedelta(minutes=2 ** min(attempts, 12)), MAX_PAUSE)


def identify_message(corpid: str, external_userid: str, unionid: str, now: datetime) -> Any:
    """The ``identify`` that links the contact's unionid to the contact's profile."""
    from siyu.ingest.spec import Message

    message = Message(type="identify", message_id=f"wecom-contact-details:{corpid}:{external_userid}", name="",
                      timestamp=now, received_at=now, traits={"wechat_unionid": unionid}, source="wecom_api",
                      context={"externalIds": [{"type": f"wecom_external_userid:{corpid}", "id": external_userid}]})
    message.dedupe_forever = True
    return message


def discover(engine: Any, workspace_id: int, now: datetime) -> int:
    """Step 1: lookup rows for contacts whose spells opened since the cursor; how many are new."""
    from siyu.segments.store import advance_cursor, claim_cursor

    with read(engine) as conn:
        if not store.any_spell_after_cursor(conn, workspace_id, CURSOR):
            return 0
    with write(engine) as conn:
        after = claim_cursor(conn, workspace_id, CURSOR, now)
        spells = store.spells_since(conn, workspace_id, after, BATCH * 10)
        if not spells:
            return 0
        added = store.mark_due(conn, workspace_id, [(e, p) for _, e, p in spells if e], now)
        advance_cursor(conn, workspace_id, CURSOR, spells[-1][0], now)
    return added


def fetch_due(engine: Any, workspace: Any, now: datetime, client: Any = None) -> dict[str, int]:
    """Steps 1 and 2 for one workspace with WeCom set up: what happened, by outcome."""
    from siyu.identity.rules import IdentityRules
    from siyu.staff.wecom_contact import ContactClient

    done = {"contacts_found": discover(engine, workspace.id, now), "unionids": 0, "without_unionid": 0,
            "contacts_failed": 0, "contacts_retry": 0, "skipped": 0}
    with read(engine) as conn:
        due = store.due_lookups(conn, workspace.id, now, BATCH)
    if not due:
        return done
    client = client or ContactClient.from_settings(workspace.settings)
    rules = IdentityRules.from_settings(workspace.settings)
    for lookup in due:
        outcome = _look_up(engine, workspace.id, client, rules, lookup, now)
        done[outcome] += 1
        if outcome == "contacts_retry":  # WeCom busy or the app not allowed: the rest wait for the next pass too
            break
    return done


def _look_up(engine: Any, workspace_id: int, client: Any, rules: Any, lookup: dict[str, Any], now: datetime) -> str:
    """One contact: ask WeCom, settle the row, link the unionid (in the same transaction)."""
    from siyu.ingest.pipeline import ingest

    attempts = lookup["attempts"] + 1
    try:
        contact = client.contact(lookup["external_userid"])
    except ChannelError as error:
        gone = error.code in GONE
        later = {"status": ContactLookup.FAILED.value} if gone else {"next_attempt_at": retry_at(attempts, now)}
        with write(engine) as conn:
            store.settle_lookup(conn, workspace_id, lookup["id"], now, attempts=attempts, error_code=error.code[:64],
                                **later)
        return "contacts_failed" if gone else "contacts_retry"
    unionid = str(contact.get("unionid") or "")[:128] or None
    kind = contact.get("type")
    try:
        with write(engine) as conn:
            settled = store.settle_lookup(conn, workspace_id, lookup["id"], now, status=ContactLookup.FETCHED.value,
                                          unionid=unionid, contact_type=kind if kind in (1, 2) else None,
                                          attempts=attempts, error_code=None, fetched_at=now)
            if settled and unionid:
                message = identify_message(client.channel.corpid, lookup["external_userid"], unionid, now)
                ingest(conn, workspace_id, [message], rules=rules)
    except SiyuError as error:  # a unionid the identity rules refuse: recorded, never asked again
        with write(engine) as conn:
            settled = store.settle_lookup(conn, workspace_id, lookup["id"], now, status=ContactLookup.FAILED.value,
                                          unionid=unionid, attempts=attempts, error_code=error.code[:64])
        return "contacts_failed" if settled else "skipped"
    if not settled:
        return "skipped"  # another worker settled it first
    return "unionids" if unionid else "without_unionid"
