"""All SQL of staff: accounts and personas, ownership spells, transfers, task results and SOP rules,
and the inbound side of a person's conversation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, desc, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from siyu.db.dialect import upsert
from siyu.db.tables import (
    customer_owners,
    customer_transfers,
    events,
    segment_members,
    sop_rules,
    staff,
    staff_task_results,
    staff_tasks,
)
from siyu.staff.errors import StaffConflict, StaffError, StaffNotFound
from siyu.staff.models import (
    OwnershipReason,
    Spell,
    Staff,
    StaffKind,
    StaffStatus,
    Transfer,
    TransferKind,
    TransferStatus,
)

INBOUND_EVENTS = ("Message Received",)


# --- staff and personas -------------------------------------------------------------------------


def _staff(row: Any) -> Staff:
    return Staff(id=row.id, kind=StaffKind(row.kind), userid=row.userid, name=row.name, avatar_url=row.avatar_url,
                 signature=row.signature, department=row.department, persona_id=row.persona_id,
                 status=StaffStatus(row.status), created_at=row.created_at, left_at=row.left_at)


def create_staff(conn: Connection, workspace_id: int, *, kind: StaffKind, name: str, userid: str | None,
                 avatar_url: str | None, signature: str | None, department: str | None, persona_id: int | None,
                 now: datetime) -> Staff:
    try:
        with conn.begin_nested():
            staff_id = conn.execute(staff.insert().values(
                workspace_id=workspace_id, kind=kind.value, userid=userid, name=name, avatar_url=avatar_url,
                signature=signature, department=department, persona_id=persona_id,
                status=StaffStatus.ACTIVE.value, created_at=now, updated_at=now).returning(staff.c.id)).scalar_one()
    except IntegrityError:
        raise StaffConflict(f"A staff account with userid {userid!r} exists already.", code="staff.exists",
                            details={"userid": userid}) from None
    return get_staff(conn, workspace_id, staff_id)


def ensure_member(conn: Connection, workspace_id: int, userid: str, now: datetime) -> None:
    """A member siyu first hears of in a callback: recorded under their userid until named."""
    conn.execute(upsert(conn, staff).values(
        workspace_id=workspace_id, kind=StaffKind.MEMBER.value, userid=userid, name=userid,
        status=StaffStatus.ACTIVE.value, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "userid"]))


def get_staff(conn: Connection, workspace_id: int, staff_id: int) -> Staff:
    row = conn.execute(select(staff).where(staff.c.workspace_id == workspace_id, staff.c.id == staff_id)).first()
    if row is None:
        raise StaffNotFound(f"No staff account {staff_id} in this workspace.", details={"staff_id": staff_id})
    return _staff(row)


def check_persona(conn: Connection, workspace_id: int, kind: StaffKind, persona_id: int | None) -> None:
    """Refuse a ``persona_id`` that does not name a persona of the workspace, or that is given to a
    persona: only a member (a WeCom account) serves as a persona; a persona under another would be
    listed among its members without a userid, and its customers would be nobody's to serve."""
    if not persona_id:
        return
    if kind is StaffKind.PERSONA:
        raise StaffError("Only a member serves as a persona; a persona takes no 'persona_id'.",
                         details={"field": "persona_id"})
    try:
        persona = get_staff(conn, workspace_id, persona_id)
    except StaffNotFound:
        raise StaffError(f"No persona {persona_id} in this workspace.", details={"field": "persona_id"}) from None
    if persona.kind is not StaffKind.PERSONA:
        raise StaffError(f"Staff {persona_id} is not a persona.", details={"field": "persona_id"})


def staff_by_userid(conn: Connection, workspace_id: int, userid: str) -> Staff | None:
    row = conn.execute(select(staff).where(staff.c.workspace_id == workspace_id, staff.c.userid == userid)).first()
    return None if row is None else _staff(row)


def list_staff(conn: Connection, workspace_id: int, *, kind: str | None = None, status: str | None = None,
               persona_id: int | None = None) -> list[Staff]:
    query = select(staff).where(staff.c.workspace_id == workspace_id)
    if kind is not None:
        query = query.where(staff.c.kind == kind)
    if status is not None:
        query = query.where(staff.c.status == status)
    if persona_id is not None:
        query = query.where(staff.c.persona_id == persona_id)
    return [_staff(r) for r in conn.execute(query.order_by(staff.c.id))]


def update_staff(conn: Connection, workspace_id: int, staff_id: int, now: datetime, **values: Any) -> Staff:
    get_staff(conn, workspace_id, staff_id)
    conn.execute(update(staff).where(staff.c.workspace_id == workspace_id, staff.c.id == staff_id).values(
        updated_at=now, **values))
    return get_staff(conn, workspace_id, staff_id)


# --- ownership spells ---------------------------------------------------------------------------


def _spell(row: Any) -> Spell:
    return Spell(id=row.id, profile_id=row.profile_id, userid=row.userid, external_userid=row.external_userid,
                 state=row.state, started_at=row.started_at, start_reason=row.start_reason, ended_at=row.ended_at,
                 end_reason=row.end_reason)


def open_spell(conn: Connection, workspace_id: int, *, profile_id: int, userid: str, external_userid: str | None,
               state: str | None, reason: OwnershipReason, at: datetime, key: str) -> bool:
    """Record that ``userid`` owns the person from ``at``; once per ``key``, and not while that member's
    spell with the person is still open (a re-add, or the add callback after a transfer siyu made).
    Returns whether a spell was opened. Callers hold the write transaction of the callback or transfer."""
    already = conn.execute(select(customer_owners.c.id).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.profile_id == profile_id,
        customer_owners.c.userid == userid, customer_owners.c.ended_at.is_(None)).limit(1)).first()
    if already is not None:
        return False
    inserted = conn.execute(upsert(conn, customer_owners).values(
        workspace_id=workspace_id, profile_id=profile_id, userid=userid, external_userid=external_userid,
        state=state, started_at=at, start_reason=reason.value, source_key=key,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "source_key"]).returning(customer_owners.c.id)).first()
    return inserted is not None


def close_spells(conn: Connection, workspace_id: int, *, userid: str, reason: OwnershipReason, at: datetime,
                 profile_id: int | None = None, external_userid: str | None = None) -> int:
    """End ``userid``'s open spells with the person (by profile or by external user id)."""
    who = []
    if profile_id is not None:
        who.append(customer_owners.c.profile_id == profile_id)
    if external_userid is not None:
        who.append(customer_owners.c.external_userid == external_userid)
    if not who:
        return 0
    result = conn.execute(update(customer_owners).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.userid == userid,
        customer_owners.c.ended_at.is_(None), or_(*who)).values(ended_at=at, end_reason=reason.value))
    return result.rowcount or 0


def current_owner(conn: Connection, workspace_id: int, profile_id: int) -> Spell | None:
    """The member whose open spell with the person began last (WeCom's latest add wins)."""
    row = conn.execute(select(customer_owners).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.profile_id == profile_id,
        customer_owners.c.ended_at.is_(None)).order_by(desc(customer_owners.c.started_at),
                                                       desc(customer_owners.c.id)).limit(1)).first()
    return None if row is None else _spell(row)


def spells_of(conn: Connection, workspace_id: int, profile_id: int) -> list[Spell]:
    return [_spell(r) for r in conn.execute(select(customer_owners).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.profile_id == profile_id).order_by(
        customer_owners.c.started_at, customer_owners.c.id))]


def customers_of(conn: Connection, workspace_id: int, userid: str, *, limit: int = 1000,
                 profile_ids: Iterable[int] | None = None) -> list[Spell]:
    """``userid``'s open spells (their customers now), oldest first."""
    query = select(customer_owners).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.userid == userid,
        customer_owners.c.ended_at.is_(None))
    if profile_ids is not None:
        query = query.where(customer_owners.c.profile_id.in_(list(profile_ids)))
    return [_spell(r) for r in conn.execute(query.order_by(customer_owners.c.started_at, customer_owners.c.id)
                                            .limit(limit))]


def owned_counts(conn: Connection, workspace_id: int, userids: Iterable[str]) -> dict[str, int]:
    wanted = list(userids)
    counts = dict.fromkeys(wanted, 0)
    for row in conn.execute(select(customer_owners.c.userid, func.count()).where(
            customer_owners.c.workspace_id == workspace_id, customer_owners.c.userid.in_(wanted),
            customer_owners.c.ended_at.is_(None)).group_by(customer_owners.c.userid)):
        counts[row[0]] = int(row[1])
    return counts


def ever_owned(conn: Connection, workspace_id: int, profile_id: int, before: datetime) -> bool:
    return conn.execute(select(customer_owners.c.id).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.profile_id == profile_id,
        customer_owners.c.started_at < before).limit(1)).first() is not None


# --- transfers ------------------------------------------------------------------------------------


def _transfer(row: Any) -> Transfer:
    return Transfer(id=row.id, kind=TransferKind(row.kind), profile_id=row.profile_id,
                    external_userid=row.external_userid, handover_userid=row.handover_userid,
                    takeover_userid=row.takeover_userid, message=row.message, status=TransferStatus(row.status),
                    errcode=row.errcode, reason=row.reason, created_at=row.created_at,
                    submitted_at=row.submitted_at, takeover_at=row.takeover_at)


def insert_transfer(conn: Connection, workspace_id: int, *, kind: TransferKind, profile_id: int,
                    external_userid: str, handover_userid: str, takeover_userid: str, message: str | None,
                    status: TransferStatus, reason: str | None, key: str, actor: str | None,
                    now: datetime) -> tuple[Transfer, bool]:
    """The decision for one customer, once per ``key``: the same key again returns the first row."""
    inserted = conn.execute(upsert(conn, customer_transfers).values(
        workspace_id=workspace_id, kind=kind.value, profile_id=profile_id, external_userid=external_userid,
        handover_userid=handover_userid, takeover_userid=takeover_userid, message=message, status=status.value,
        reason=reason, idempotency_key=key, requested_by=actor, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"]).returning(
        customer_transfers.c.id)).first()
    row = conn.execute(select(customer_transfers).where(customer_transfers.c.workspace_id == workspace_id,
                                                        customer_transfers.c.idempotency_key == key)).one()
    return _transfer(row), inserted is not None


def transfers_counting_since(conn: Connection, workspace_id: int, profile_id: int, since: datetime) -> int:
    """In-service transfers of the person that WeCom accepted (waiting or done) since ``since``."""
    return int(conn.execute(select(func.count()).where(
        customer_transfers.c.workspace_id == workspace_id, customer_transfers.c.profile_id == profile_id,
        customer_transfers.c.kind == TransferKind.IN_SERVICE.value,
        customer_transfers.c.status.in_([TransferStatus.WAITING.value, TransferStatus.SUCCEEDED.value,
                                         TransferStatus.DECIDED.value]),
        customer_transfers.c.created_at >= since)).scalar_one())


def transfers_in(conn: Connection, workspace_id: int, status: TransferStatus, *, limit: int = 1000
                 ) -> list[Transfer]:
    return [_transfer(r) for r in conn.execute(select(customer_transfers).where(
        customer_transfers.c.workspace_id == workspace_id, customer_transfers.c.status == status.value).order_by(
        customer_transfers.c.id).limit(limit))]


def list_transfers(conn: Connection, workspace_id: int, *, profile_id: int | None = None,
                   userid: str | None = None, limit: int = 200) -> list[Transfer]:
    query = select(customer_transfers).where(customer_transfers.c.workspace_id == workspace_id)
    if profile_id is not None:
        query = query.where(customer_transfers.c.profile_id == profile_id)
    if userid is not None:
        query = query.where(or_(customer_transfers.c.handover_userid == userid,
                                customer_transfers.c.takeover_userid == userid))
    return [_transfer(r) for r in conn.execute(query.order_by(desc(customer_transfers.c.id)).limit(limit))]


def claim_transfer(conn: Connection, workspace_id: int, transfer_id: int, now: datetime) -> bool:
    """Take a decided row for submission: one guarded UPDATE, so of two workers only one gets it."""
    result = conn.execute(update(customer_transfers).where(
        customer_transfers.c.workspace_id == workspace_id, customer_transfers.c.id == transfer_id,
        customer_transfers.c.status == TransferStatus.DECIDED.value, customer_transfers.c.submitted_at.is_(None),
    ).values(submitted_at=now, updated_at=now))
    return (result.rowcount or 0) == 1


def update_transfer(conn: Connection, workspace_id: int, transfer_id: int, now: datetime, **values: Any) -> None:
    values = {k: (v.value if isinstance(v, TransferStatus) else v) for k, v in values.items()}
    conn.execute(update(customer_transfers).where(customer_transfers.c.workspace_id == workspace_id,
                                                  customer_transfers.c.id == transfer_id).values(
        updated_at=now, **values))


# --- staff tasks (the table is journeys'; the staff side reads it through its owner) --------------


def tasks_of_owner(conn: Connection, workspace_id: int, userid: str, *, due_before: datetime,
                   status: str | None = "open", limit: int = 500) -> list[dict[str, Any]]:
    """Tasks about ``userid``'s customers due before ``due_before`` (or undated), oldest due first."""
    owned = select(customer_owners.c.profile_id).where(
        customer_owners.c.workspace_id == workspace_id, customer_owners.c.userid == userid,
        customer_owners.c.ended_at.is_(None))
    query = select(staff_tasks, staff_task_results.c.note.label("result_note"),
                   staff_task_results.c.at.label("result_at")).outerjoin(staff_task_results, and_(
                       staff_task_results.c.workspace_id == staff_tasks.c.workspace_id,
                       staff_task_results.c.task_id == staff_tasks.c.id)).where(
        staff_tasks.c.workspace_id == workspace_id, staff_tasks.c.profile_id.in_(owned),
        or_(staff_tasks.c.due_at.is_(None), staff_tasks.c.due_at < due_before))
    if status is not None:
        query = query.where(staff_tasks.c.status == status)
    rows = conn.execute(query.order_by(staff_tasks.c.due_at, staff_tasks.c.id).limit(limit))
    return [{k: v for k, v in r._mapping.items() if k != "workspace_id"} for r in rows]


def get_task(conn: Connection, workspace_id: int, task_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(staff_tasks).where(staff_tasks.c.workspace_id == workspace_id,
                                                 staff_tasks.c.id == task_id)).first()
    return None if row is None else dict(row._mapping)


def finish_task(conn: Connection, workspace_id: int, task_id: int, *, status: str, note: str | None,
                userid: str | None, now: datetime) -> None:
    """Close an open task (done / skipped) with the staff member's note; the journey's own note stays."""
    conn.execute(update(staff_tasks).where(staff_tasks.c.workspace_id == workspace_id,
                                           staff_tasks.c.id == task_id).values(status=status, updated_at=now))
    conn.execute(upsert(conn, staff_task_results).values(
        workspace_id=workspace_id, task_id=task_id, userid=userid, status=status, note=note, at=now,
    ).on_conflict_do_update(index_elements=["workspace_id", "task_id"],
                            set_={"userid": userid, "status": status, "note": note, "at": now}))


def create_sop_rule(conn: Connection, workspace_id: int, *, name: str, segment_id: int, schedule: str, title: str,
                    note: str | None, due_hours: int, now: datetime) -> dict[str, Any]:
    rule_id = conn.execute(sop_rules.insert().values(
        workspace_id=workspace_id, name=name, segment_id=segment_id, schedule=schedule, title=title, note=note,
        due_hours=due_hours, status="active", created_at=now, updated_at=now).returning(sop_rules.c.id)).scalar_one()
    return get_sop_rule(conn, workspace_id, rule_id)


def get_sop_rule(conn: Connection, workspace_id: int, rule_id: int) -> dict[str, Any]:
    row = conn.execute(select(sop_rules).where(sop_rules.c.workspace_id == workspace_id,
                                               sop_rules.c.id == rule_id)).first()
    if row is None:
        raise StaffNotFound(f"No SOP rule {rule_id} in this workspace.", code="staff.sop_not_found",
                            details={"rule_id": rule_id})
    return {k: v for k, v in row._mapping.items() if k != "workspace_id"}


def list_sop_rules(conn: Connection, workspace_id: int, *, status: str | None = None) -> list[dict[str, Any]]:
    query = select(sop_rules).where(sop_rules.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(sop_rules.c.status == status)
    return [{k: v for k, v in r._mapping.items() if k != "workspace_id"}
            for r in conn.execute(query.order_by(sop_rules.c.id))]


def workspaces_with_sop_rules(conn: Connection) -> set[int]:
    """Workspaces with an active SOP rule. # tenancy: cross-workspace (the worker skips the others)"""
    return set(conn.execute(select(sop_rules.c.workspace_id).where(sop_rules.c.status == "active").distinct())
               .scalars())


def mark_sop_run(conn: Connection, workspace_id: int, rule_id: int, now: datetime) -> None:
    conn.execute(update(sop_rules).where(sop_rules.c.workspace_id == workspace_id, sop_rules.c.id == rule_id)
                 .values(last_run_at=now, updated_at=now))


def segment_entrants(conn: Connection, workspace_id: int, segment_id: int, since: datetime | None,
                     limit: int = 10_000) -> list[int]:
    """Members of a segment (who entered after ``since``, when given)."""
    query = select(segment_members.c.profile_id).where(segment_members.c.workspace_id == workspace_id,
                                                       segment_members.c.segment_id == segment_id)
    if since is not None:
        query = query.where(segment_members.c.entered_at > since)
    return list(conn.execute(query.order_by(segment_members.c.profile_id).limit(limit)).scalars())


# --- the inbound side of a conversation ---------------------------------------------------------


def inbound_messages(conn: Connection, workspace_id: int, profile_id: int, *, limit: int = 100
                     ) -> list[dict[str, Any]]:
    """The person's messages to the brand (``Message Received``), newest first."""
    rows = conn.execute(select(events.c.id, events.c.timestamp, events.c.properties, events.c.source).where(
        events.c.workspace_id == workspace_id, events.c.profile_id == profile_id,
        events.c.name.in_(INBOUND_EVENTS)).order_by(desc(events.c.timestamp), desc(events.c.id)).limit(limit))
    return [{"event_id": r.id, "at": r.timestamp, "properties": r.properties or {}, "source": r.source}
            for r in rows]
