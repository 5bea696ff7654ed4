"""Keyword / menu reply rules and default welcome messages over HTTP (``/api/replies/...``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response

from siyu.acquisition import replies_service, replies_store
from siyu.acquisition.replies import TRIGGERS, RepliesError
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/replies", tags=["replies"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]  # replies send messages
RuleId = Annotated[int, Path(ge=1, le=2**62)]
Platform = Annotated[str, Path(pattern="^(wechat|wecom)$")]
RULE_EXAMPLE = {"name": "新人礼", "trigger": "keyword", "match": "contains", "patterns": ["新人", "new"],
                "priority": 10, "reply": {"msgtype": "text", "text": {"content": "{{ profile.traits.name }}你好！"}},
                "variants": [{"from": "22:00", "to": "08:00",
                              "reply": {"msgtype": "text", "text": {"content": "客服明早 8 点回复你"}}}]}


@router.get("/rules", summary="Reply rules, in the order they are tried")
def list_rules(request: Request, caller: Reader,
               trigger: Annotated[str | None, Query(pattern=f"^({'|'.join(TRIGGERS)})$")] = None) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return {"items": [r.as_dict() for r in replies_store.rules_of(conn, caller.workspace_id, trigger)]}


@router.post("/rules", status_code=201, summary="Create a keyword or menu-click reply rule")
def create_rule(request: Request, caller: Writer,
                body: Annotated[dict[str, Any], Body(examples=[RULE_EXAMPLE])]) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return replies_service.save_rule(conn, caller.workspace_id, body).as_dict()


@router.get("/rules/{rule_id}", summary="One reply rule, with its match count")
def get_rule(request: Request, caller: Reader, rule_id: RuleId) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return replies_store.get_rule(conn, caller.workspace_id, rule_id).as_dict()


@router.patch("/rules/{rule_id}", summary="Change a reply rule (the fields given)")
def update_rule(request: Request, caller: Writer, rule_id: RuleId,
                body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return replies_service.save_rule(conn, caller.workspace_id, body, rule_id).as_dict()


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete a reply rule")
def delete_rule(request: Request, caller: Writer, rule_id: RuleId) -> Response:
    with write(runtime_of(request).engine) as conn:
        replies_store.delete_rule(conn, caller.workspace_id, rule_id)
    return Response(status_code=204)


@router.get("/welcome", summary="The default welcome messages")
def list_welcome(request: Request, caller: Reader) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return {"items": replies_store.welcomes_of(conn, caller.workspace_id)}


@router.get("/welcome/{platform}", summary="The default welcome message of a platform")
def get_welcome(request: Request, caller: Reader, platform: Platform) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        found = replies_store.welcome_of(conn, caller.workspace_id, platform)
    if found is None:
        raise RepliesError(f"No {platform} welcome message is set.", code="replies.not_found", status=404)
    return found


@router.put("/welcome/{platform}", summary="Set the default welcome message of a platform")
def put_welcome(request: Request, caller: Writer, platform: Platform,
                body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        return replies_service.save_welcome(conn, caller.workspace_id, platform, body)


@router.delete("/welcome/{platform}", status_code=204, summary="Remove the default welcome message of a platform")
def delete_welcome(request: Request, caller: Writer, platform: Platform) -> Response:
    with write(runtime_of(request).engine) as conn:
        if not replies_store.delete_welcome(conn, caller.workspace_id, platform):
            raise RepliesError(f"No {platform} welcome message is set.", code="replies.not_found", status=404)
    return Response(status_code=204)
