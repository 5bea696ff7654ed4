"""``/api/staff`` (members and personas, their customers and tasks), ``/api/customer-transfers``
(离职继承 / 在职转接), ``/api/sop-rules``, ``/api/staff-tasks/{id}/result``, and per person
``/api/profiles/{id}/owners``, ``/conversation`` and ``/replies``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.api.patch import patch_values
from siyu.db.engine import read, write
from siyu.staff import conversation, store, tasks, transfers
from siyu.staff.errors import StaffError
from siyu.staff.models import Spell, Staff, StaffKind, StaffStatus, TransferKind
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/staff", tags=["staff"])
transfers_router = APIRouter(prefix="/api/customer-transfers", tags=["staff"])
sop_router = APIRouter(prefix="/api/sop-rules", tags=["staff"])
people_router = APIRouter(prefix="/api/profiles", tags=["staff"])
task_router = APIRouter(prefix="/api/staff-tasks", tags=["staff"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Serving = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]  # staff: tasks, replies
Manager = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]  # accounts, hand-overs, SOP
StaffId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ProfileId = Annotated[int, Path(ge=1, le=2**62)]
USERID_PATTERN = r"^[A-Za-z0-9_\-@.]{1,64}$"  # WeCom's rule for member userids


class StaffIn(BaseModel):
    kind: Literal["member", "persona"] = "member"
    userid: str | None = Field(None, pattern=USERID_PATTERN, description="WeCom userid (members only)")
    name: str = Field(min_length=1, max_length=100)
    avatar_url: str | None = Field(None, max_length=500)
    signature: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=100)
    persona_id: int | None = Field(None, ge=1, le=2**31 - 1, description="The persona this member serves as")


class StaffPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100)
    avatar_url: str | None = Field(None, max_length=500)
    signature: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=100)
    persona_id: int | None = Field(None, ge=0, le=2**31 - 1, description="0 removes the persona")
    status: Literal["active", "left"] | None = None


def staff_dict(conn: Any, workspace_id: int, found: Staff) -> dict[str, Any]:
    out: dict[str, Any] = {"id": found.id, "kind": found.kind.value, "userid": found.userid, "name": found.name,
           "avatar_url": found.avatar_url, "signature": found.signature, "department": found.department,
           "persona_id": found.persona_id, "status": found.status.value, "created_at": found.created_at,
           "left_at": found.left_at}
    if found.kind is StaffKind.PERSONA:
        out["members"] = [m.userid for m in store.list_staff(conn, workspace_id, persona_id=found.id)]
    return out


def spell_dict(spell: Spell) -> dict[str, Any]:
    return {"profile_id": spell.profile_id, "userid": spell.userid, "external_userid": spell.external_userid,
            "state": spell.state, "started_at": spell.started_at, "start_reason": spell.start_reason,
            "ended_at": spell.ended_at, "end_reason": spell.end_reason}


@router.post("", status_code=201, summary="Add a member (WeCom userid) or a persona (人设)")
def create_staff(request: Request, caller: Manager, body: StaffIn) -> dict[str, Any]:
    kind = StaffKind(body.kind)
    if (kind is StaffKind.MEMBER) != (body.userid is not None):
        raise StaffError("A member needs its WeCom 'userid'; a persona has none.", details={"field": "userid"})
    with write(runtime_of(request).engine) as conn:
        store.check_persona(conn, caller.workspace_id, kind, body.persona_id)
        created = store.create_staff(conn, caller.workspace_id, kind=kind, name=body.name, userid=body.userid,
                                     avatar_url=body.avatar_url, signature=body.signature,
                                     department=body.department, persona_id=body.persona_id, now=clock.now())
        return staff_dict(conn, caller.workspace_id, created)


@router.get("", summary="Members and personas")
def list_staff(request: Request, caller: Reader, kind: Literal["member", "persona"] | None = None,
               status: Literal["active", "left"] | None = None) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [staff_dict(conn, caller.workspace_id, s)
                for s in store.list_staff(conn, caller.workspace_id, kind=kind, status=status)]


@router.get("/{staff_id}")
def get_staff(request: Request, caller: Reader, staff_id: StaffId) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return staff_dict(conn, caller.workspace_id, store.get_staff(conn, caller.workspace_id, staff_id))


@router.patch("/{staff_id}", summary="Rename, change persona, or mark as left (then 离职继承 their customers)")
def edit_staff(request: Request, caller: Manager, staff_id: StaffId, body: StaffPatch) -> dict[str, Any]:
    changes: dict[str, Any] = patch_values(body)
    now = clock.now()
    with write(runtime_of(request).engine) as conn:
        found = store.get_staff(conn, caller.workspace_id, staff_id)
        if "persona_id" in changes:
            store.check_persona(conn, caller.workspace_id, found.kind, changes["persona_id"])
            changes["persona_id"] = changes["persona_id"] or None
        if "status" in changes:
            left = changes["status"] == StaffStatus.LEFT.value
            changes["left_at"] = (found.left_at or now) if left else None
        return staff_dict(conn, caller.workspace_id, store.update_staff(conn, caller.workspace_id, staff_id, now,
                                                                        **changes))


def _userids(conn: Any, workspace_id: int, found: Staff) -> list[str]:
    if found.kind is StaffKind.PERSONA:
        return [m.userid for m in store.list_staff(conn, workspace_id, persona_id=found.id) if m.userid]
    return [found.userid] if found.userid else []


@router.get("/{staff_id}/customers", summary="Customers owned now (a persona: its members' customers)")
def customers(request: Request, caller: Reader, staff_id: StaffId,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        found = store.get_staff(conn, caller.workspace_id, staff_id)
        return [spell_dict(spell) for userid in _userids(conn, caller.workspace_id, found)
                for spell in store.customers_of(conn, caller.workspace_id, userid, limit=limit)]


@router.get("/{staff_id}/tasks", summary="Tasks about this member's customers due today or earlier")
def staff_tasks(request: Request, caller: Reader, staff_id: StaffId,
                status: Annotated[Literal["open", "done", "skipped"] | None, Query()] = "open"
                ) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
        found = store.get_staff(conn, caller.workspace_id, staff_id)
        return [dict(task, owner=userid) for userid in _userids(conn, caller.workspace_id, found)
                for task in tasks.today(conn, caller.workspace_id, userid, clock.now(), workspace.timezone,
                                        status=status)]


class TaskResultIn(BaseModel):
    status: Literal["done", "skipped"]
    note: str | None = Field(None, max_length=2000)
    userid: str | None = Field(None, pattern=USERID_PATTERN, description="Who did it")


@task_router.post("/{task_id}/result", summary="Mark a task done or skipped, with a note")
def task_result(request: Request, caller: Serving, task_id: Annotated[int, Path(ge=1, le=2**62)],
                body: TaskResultIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        task = tasks.finish(conn, caller.workspace_id, task_id, status=body.status, note=body.note,
                            userid=body.userid, now=clock.now())
    return {k: v for k, v in task.items() if k != "workspace_id"} | {"result_note": body.note}


class TransferIn(BaseModel):
    kind: Literal["in_service", "resigned"]
    handover_userid: str = Field(pattern=USERID_PATTERN)
    takeover_userid: str = Field(pattern=USERID_PATTERN)
    profile_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        None, max_length=10_000, description="Chosen customers; all of the member's when absent")
    message: str | None = Field(None, max_length=200, description="Shown to the customers (在职转接 only)")
    idempotency_key: str = Field(min_length=1, max_length=150)


@transfers_router.post("", status_code=201, summary="Decide hand-overs: one row per customer, sent to WeCom by "
                       "`siyu staff sync` / POST /api/customer-transfers/sync")
def request_transfers(request: Request, caller: Manager, body: TransferIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        decided = transfers.request_transfers(
            conn, caller.workspace_id, kind=TransferKind(body.kind), handover=body.handover_userid,
            takeover=body.takeover_userid, profile_ids=body.profile_ids, message=body.message,
            key=body.idempotency_key, actor=caller.actor, now=clock.now())
    created = any(new for _, new in decided)
    out = {"transfers": [transfers.transfer_dict(t) for t, _ in decided], "created": created}
    return out if created or not decided else JSONResponse(_json(out), status_code=200)


def _json(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


@transfers_router.get("", summary="Hand-overs, newest first")
def list_transfers(request: Request, caller: Reader, profile_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                   userid: Annotated[str | None, Query(pattern=USERID_PATTERN)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [transfers.transfer_dict(t) for t in store.list_transfers(conn, caller.workspace_id,
                                                                         profile_id=profile_id, userid=userid,
                                                                         limit=limit)]


@transfers_router.post("/sync", summary="Hand decided transfers to WeCom and poll the waiting ones now")
def sync_transfers(request: Request, caller: Manager) -> dict[str, int]:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
    return {"submitted": transfers.submit_transfers(engine, workspace),
            "finished": transfers.poll_transfers(engine, workspace)}


class SopRuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    segment_id: int = Field(ge=1, le=2**31 - 1)
    schedule: Literal["once", "daily"] = "daily"
    title: str = Field(min_length=1, max_length=200)
    note: str | None = Field(None, max_length=2000)
    due_hours: int = Field(24, ge=0, le=24 * 90)


@sop_router.post("", status_code=201, summary="A task for the owner of each person (entering) a segment")
def create_sop_rule(request: Request, caller: Manager, body: SopRuleIn) -> dict[str, Any]:
    from siyu.segments import store as segment_store

    with write(runtime_of(request).engine) as conn:
        segment_store.get_segment(conn, caller.workspace_id, body.segment_id)
        return store.create_sop_rule(conn, caller.workspace_id, now=clock.now(), **body.model_dump())


@sop_router.get("")
def list_sop_rules(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return store.list_sop_rules(conn, caller.workspace_id)


@sop_router.post("/run", summary="Run the SOP rules now (the daily round)")
def run_sop_rules(request: Request, caller: Manager) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
        ran = tasks.run_sop_rules(conn, caller.workspace_id, clock.now(), workspace.timezone)
    return {"rules": [{"id": rule_id, **counts} for rule_id, counts in ran.items()]}


@people_router.get("/{profile_id}/owners", summary="Who owned the person, from when until when, and why")
def owners(request: Request, caller: Reader, profile_id: ProfileId) -> list[dict[str, Any]]:
    from siyu.profiles.read_store import resolve_profile_id

    with read(runtime_of(request).engine) as conn:
        person = resolve_profile_id(conn, caller.workspace_id, profile_id)
        return [spell_dict(s) for s in store.spells_of(conn, caller.workspace_id, person)]


@people_router.get("/{profile_id}/conversation", summary="Inbound and outbound messages, oldest first, and "
                   "whether a reply may go now (WeChat's 48-hour window)")
def get_conversation(request: Request, caller: Reader, profile_id: ProfileId,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return conversation.conversation(conn, caller.workspace_id, profile_id, clock.now(), limit=limit)


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    idempotency_key: str = Field(min_length=1, max_length=120)


class ReplyOut(BaseModel):
    message_id: int
    status: str
    created: bool
    created_at: datetime | None


@people_router.post("/{profile_id}/replies", status_code=201, response_model=ReplyOut,
                    summary="Queue a customer-service reply; 409 staff.reply_refused with the policy's reason")
def post_reply(request: Request, caller: Serving, profile_id: ProfileId, body: ReplyIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        message, created = conversation.reply(conn, caller.workspace_id, profile_id, text=body.text,
                                              key=body.idempotency_key, actor=caller.actor, now=clock.now())
    out = ReplyOut(message_id=message.id, status=message.status.value, created=created, created_at=message.created_at)
    return out if created else JSONResponse(out.model_dump(mode="json"), status_code=200)
