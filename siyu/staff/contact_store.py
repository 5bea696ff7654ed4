"""All SQL of WeCom contact details: which external contacts are due a ``externalcontact/get``
lookup, and what it answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import cursors, customer_owners, wecom_contact_details

DUE, FETCHED, FAILED = "due", "fetched", "failed"  # ContactLookup in siyu.staff.contact_details


def spells_since(conn: Connection, workspace_id: int, after_id: int, limit: int) -> list[tuple[int, str | None, int]]:
    """``(spell id, external_userid, profile_id)`` of ownership spells opened after ``after_id``
    (callback adds, hand-overs, syncs: every way a contact becomes someone's customer), oldest first;
    spells without an external user id are listed too, so a cursor over them never stalls."""
    return [(row.id, row.external_userid, row.profile_id) for row in conn.execute(
        select(customer_owners.c.id, customer_owners.c.external_userid, customer_owners.c.profile_id).where(
            customer_owners.c.workspace_id == workspace_id, customer_owners.c.id > after_id)
        .order_by(customer_owners.c.id).limit(limit))]


def any_spell_after_cursor(conn: Connection, workspace_id: int, cursor: str) -> bool:
    """Whether discovery has anything to do: a read, so a quiet workspace costs the worker no write
    transaction. The cursor row is :func:`siyu.segments.store.claim_cursor`'s, read only."""
    position = select(cursors.c.position).where(cursors.c.workspace_id == workspace_id,
                                                cursors.c.name == cursor).scalar_subquery()
    return conn.execute(select(customer_owners.c.id).where(
        customer_owners.c.workspace_id == workspace_id,
        customer_owners.c.id > func.coalesce(position, 0)).limit(1)).first() is not None


def mark_due(conn: Connection, workspace_id: int, contacts: list[tuple[str, int]], now: datetime) -> int:
    """A lookup row per contact not seen before (``INSERT … ON CONFLICT DO NOTHING``): a contact added
    again, to another member or after a deletion, is looked up once."""
    if not contacts:
        return 0
    rows = [{"workspace_id": workspace_id, "external_userid": external_userid, "profile_id": profile_id,
             "status": DUE, "attempts": 0, "next_attempt_at": now, "updated_at": now}
            for external_userid, profile_id in dict(contacts).items()]
    statement = upsert(conn, wecom_contact_details).values(rows).on_conflict_do_nothing(
        index_elements=["workspace_id", "external_userid"]).returning(wecom_contact_details.c.id)
    return len(conn.execute(statement).all())  # rowcount is -1 here on psycopg


def due_lookups(conn: Connection, workspace_id: int, now: datetime, limit: int) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(
        select(wecom_contact_details.c.id, wecom_contact_details.c.external_userid,
               wecom_contact_details.c.profile_id, wecom_contact_details.c.attempts).where(
            wecom_contact_details.c.workspace_id == workspace_id, wecom_contact_details.c.status == DUE,
            wecom_contact_details.c.next_attempt_at <= now).order_by(wecom_contact_details.c.next_attempt_at,
                                                                      wecom_contact_details.c.id).limit(limit))]


def settle_lookup(conn: Connection, workspace_id: int, lookup_id: int, now: datetime, **values: Any) -> bool:
    """Write what WeCom answered, only while the row is still due: of two workers that looked the
    same contact up, one settles it (True) and the other's write changes nothing."""
    return bool(conn.execute(update(wecom_contact_details).where(
        wecom_contact_details.c.workspace_id == workspace_id, wecom_contact_details.c.id == lookup_id,
        wecom_contact_details.c.status == DUE).values(updated_at=now, **values)).rowcount)


def contact_details(conn: Connection, workspace_id: int, external_userid: str) -> dict[str, Any] | None:
    row = conn.execute(select(wecom_contact_details).where(
        wecom_contact_details.c.workspace_id == workspace_id,
        wecom_contact_details.c.external_userid == external_userid)).first()
    return None if row is None else {k: v for k, v in row._mapping.items() if k != "workspace_id"}
