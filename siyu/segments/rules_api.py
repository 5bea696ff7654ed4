"""Management API for auto-tag rules (自动打标签)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.segments import rule_store, tag_rules
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/tag-rules", tags=["tag rules"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Manager = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class RuleIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    tag: Annotated[str, Field(min_length=1, max_length=100, description="Tag name; created if missing")]
    action: Literal["add", "remove", "sync"] = "add"
    definition: dict[str, Any]


class RulePatch(BaseModel):
    status: Literal["active", "paused", "archived"]


class RuleOut(BaseModel):
    id: int
    name: str
    tag_id: int
    tag: str
    action: str
    definition: dict[str, Any]
    status: str
    created_at: datetime
    updated_at: datetime


class ApplyOut(BaseModel):
    tagged: int
    untagged: int


@router.post("", response_model=RuleOut, status_code=201, summary="Save an auto-tag rule and apply it to everyone")
def create(request: Request, caller: Manager, body: RuleIn) -> RuleOut:
    with write(runtime_of(request).engine) as conn:
        return RuleOut(**tag_rules.create(conn, caller.workspace_id, name=body.name, tag=body.tag, action=body.action,
                                          definition=body.definition, now=clock.now()))


@router.get("", response_model=list[RuleOut], summary="Auto-tag rules of this workspace")
def list_all(request: Request, caller: Reader) -> list[RuleOut]:
    with read(runtime_of(request).engine) as conn:
        return [RuleOut(**r) for r in rule_store.list_rules(conn, caller.workspace_id)]


@router.get("/{rule_id}", response_model=RuleOut, summary="One auto-tag rule")
def get(request: Request, caller: Reader, rule_id: RuleId) -> RuleOut:
    with read(runtime_of(request).engine) as conn:
        return RuleOut(**rule_store.get_rule(conn, caller.workspace_id, rule_id))


@router.patch("/{rule_id}", response_model=RuleOut, summary="Pause, resume or archive a rule")
def patch(request: Request, caller: Manager, rule_id: RuleId, body: RulePatch) -> RuleOut:
    with write(runtime_of(request).engine) as conn:
        return RuleOut(**rule_store.set_status(conn, caller.workspace_id, rule_id, body.status, clock.now()))


@router.post("/{rule_id}/apply", response_model=ApplyOut, summary="Apply the rule to everyone now")
def apply(request: Request, caller: Manager, rule_id: RuleId) -> ApplyOut:
    with write(runtime_of(request).engine) as conn:
        rule = rule_store.get_rule(conn, caller.workspace_id, rule_id)
        added, removed = tag_rules.apply(conn, caller.workspace_id, rule, clock.now())
        return ApplyOut(tagged=added, untagged=removed)
