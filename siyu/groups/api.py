"""``/api/groups``: community groups kept from WeCom, their members, group tags, broadcasts to
groups; ``/api/profiles/{id}/groups``: a person's groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.groups import sending, store, tag_store
from siyu.groups.errors import GroupNotFound
from siyu.groups.figures import join_figures
from siyu.identity.store import identities_of
from siyu.profiles.read_store import resolve_profile_id
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/groups", tags=["groups"])
profiles_router = APIRouter(prefix="/api/profiles", tags=["groups"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Tagger = Annotated[Principal, Depends(require(Permission.TAGS_MANAGE))]
Sender = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
GroupId = Annotated[int, Path(ge=1, le=2**62)]
TagId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class TagOut(BaseModel):
    id: int
    tag_group: str
    name: str


class GroupOut(BaseModel):
    id: int
    corp_id: str
    chat_id: str
    name: str | None
    owner_userid: str | None
    notice: str | None
    status: str
    member_count: int
    platform_created_at: datetime | None
    synced_at: datetime | None
    sync_due_at: datetime | None
    sync_error: str | None
    dismissed_at: datetime | None
    created_at: datetime
    tags: list[TagOut]


class MemberOut(BaseModel):
    userid: str
    member_type: str
    profile_id: int | None
    unionid: str | None
    name: str | None
    group_nickname: str | None
    joined_at: datetime
    join_scene: str
    invitor_userid: str | None
    quit_at: datetime | None
    quit_scene: str | None
    invites: int = Field(description="People this member invited into the group (WeCom names inviters who are "
                                     "members of the company only)")


class TagIn(BaseModel):
    tag_group: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)


class GroupIdsIn(BaseModel):
    group_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=10_000)


class BroadcastIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    content: dict[str, Any] = Field(description='WeCom content: {"text": {"content"}, "attachments": [...]}')
    group_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=50_000)
    idempotency_key: str = Field(min_length=1, max_length=150)


def _group_out(group: Any) -> GroupOut:
    return GroupOut(id=group.id, corp_id=group.corp_id, chat_id=group.chat_id, name=group.name,
                    owner_userid=group.owner_userid, notice=group.notice, status=group.status.value,
                    member_count=group.member_count, platform_created_at=group.platform_created_at,
                    synced_at=group.synced_at, sync_due_at=group.sync_due_at, sync_error=group.sync_error,
                    dismissed_at=group.dismissed_at, created_at=group.created_at,
                    tags=[TagOut(**tag) for tag in group.tags])


def _found(conn: Any, workspace_id: int, group_id: int) -> Any:
    group = store.get_group(conn, workspace_id, group_id)
    if group is None:
        raise GroupNotFound(f"No group {group_id} in this workspace.", details={"group_id": group_id})
    return group


@router.get("", response_model=list[GroupOut], summary="Groups, filtered")
def list_groups(request: Request, caller: Reader,
                status: Annotated[Literal["active", "dismissed"] | None, Query()] = None,
                owner: Annotated[str | None, Query(max_length=64, description="The owner's WeCom userid")] = None,
                q: Annotated[str | None, Query(max_length=100, description="Part of the group's name")] = None,
                tag_id: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None,
                                  Query(max_length=50, description="Groups carrying every one of these tags")]
                = None,
                min_members: Annotated[int | None, Query(ge=0, le=100_000)] = None,
                max_members: Annotated[int | None, Query(ge=0, le=100_000)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[GroupOut]:
    with read(runtime_of(request).engine) as conn:
        found = store.list_groups(conn, caller.workspace_id, status=status, owner=owner, name_contains=q,
                                  tag_ids=tag_id, min_members=min_members, max_members=max_members, limit=limit,
                                  offset=offset)
    return [_group_out(group) for group in found]


@router.get("/tags", response_model=list[dict[str, Any]], summary="Group tags, by tag group, with use counts")
def list_tags(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return tag_store.list_tags(conn, caller.workspace_id)


@router.post("/tags", status_code=201, response_model=TagOut, summary="Create a group tag (200 if it exists)")
def create_tag(request: Request, caller: Tagger, body: TagIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        existing = {(t["tag_group"], t["name"]): t["id"] for t in tag_store.list_tags(conn, caller.workspace_id)}
        tag_id = tag_store.ensure_tag(conn, caller.workspace_id, body.tag_group.strip(), body.name.strip(),
                                      clock.now())
    out = TagOut(id=tag_id, tag_group=body.tag_group.strip(), name=body.name.strip())
    if (out.tag_group, out.name) in existing:
        return JSONResponse(out.model_dump(), status_code=200)
    return out


@router.delete("/tags/{tag_id}", status_code=204, summary="Delete a group tag (and take it off every group)")
def delete_tag(request: Request, caller: Tagger, tag_id: TagId) -> None:
    with write(runtime_of(request).engine) as conn:
        if not tag_store.delete_tag(conn, caller.workspace_id, tag_id):
            raise GroupNotFound(f"No group tag {tag_id}.", details={"tag_id": tag_id})


def _tag_exists(conn: Any, workspace_id: int, tag_id: int) -> None:
    if not tag_store.tag_exists(conn, workspace_id, tag_id):
        raise GroupNotFound(f"No group tag {tag_id}.", details={"tag_id": tag_id})


@router.post("/tags/{tag_id}/groups", summary="Put a tag on groups")
def tag_groups(request: Request, caller: Tagger, tag_id: TagId, body: GroupIdsIn) -> dict[str, int]:
    with write(runtime_of(request).engine) as conn:
        _tag_exists(conn, caller.workspace_id, tag_id)
        return {"tagged": tag_store.tag_groups(conn, caller.workspace_id, body.group_ids, tag_id, clock.now())}


@router.post("/tags/{tag_id}/remove", summary="Take a tag off groups")
def untag_groups(request: Request, caller: Tagger, tag_id: TagId, body: GroupIdsIn) -> dict[str, int]:
    with write(runtime_of(request).engine) as conn:
        _tag_exists(conn, caller.workspace_id, tag_id)
        return {"untagged": tag_store.untag_groups(conn, caller.workspace_id, body.group_ids, tag_id)}


@router.post("/broadcasts", status_code=201, summary="Broadcast to groups (群发到群): one WeCom task per owner; "
             "200 with the first when the key was used before")
def create_broadcast(request: Request, caller: Sender, body: BroadcastIn) -> Any:
    with write(runtime_of(request).engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
        found, created = sending.create_broadcast(conn, workspace, name=body.name, content=body.content,
                                                  group_ids=body.group_ids, key=body.idempotency_key,
                                                  actor=caller.actor, now=clock.now())
    return found if created else JSONResponse(_jsonable(found), status_code=200)


def _jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)


@router.get("/broadcasts", summary="Broadcasts to groups, newest first")
def list_broadcasts(request: Request, caller: Reader,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    from siyu.groups import broadcast_store

    with read(runtime_of(request).engine) as conn:
        return broadcast_store.list_broadcasts(conn, caller.workspace_id, limit)


@router.get("/broadcasts/{broadcast_id}", summary="A broadcast to groups with its tasks")
def get_broadcast(request: Request, caller: Reader,
                  broadcast_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return sending.describe(conn, caller.workspace_id, broadcast_id)


@router.get("/joins", summary="Joins per day, per group (all groups, or these)")
def joins(request: Request, caller: Reader,
          group_id: Annotated[list[Annotated[int, Field(ge=1, le=2**62)]] | None,
                              Query(max_length=500, description="Only these groups")] = None,
          days: Annotated[int, Query(ge=1, le=366)] = 30) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
        ids = group_id or [g.id for g in store.list_groups(conn, caller.workspace_id, limit=100_000)]
        return join_figures(conn, caller.workspace_id, ids, ZoneInfo(workspace.timezone), days, clock.now())


@router.get("/{group_id}", response_model=GroupOut, summary="One group")
def get_group(request: Request, caller: Reader, group_id: GroupId) -> GroupOut:
    with read(runtime_of(request).engine) as conn:
        return _group_out(_found(conn, caller.workspace_id, group_id))


@router.get("/{group_id}/members", response_model=list[MemberOut],
            summary="Members (with join time, scene, inviter and invite counts); past ones too on request")
def members(request: Request, caller: Reader, group_id: GroupId, include_past: bool = False,
            limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[MemberOut]:
    with read(runtime_of(request).engine) as conn:
        _found(conn, caller.workspace_id, group_id)
        return [MemberOut(**m) for m in store.members_of(conn, caller.workspace_id, group_id,
                                                         include_past=include_past, limit=limit)]


@router.post("/{group_id}/sync", status_code=202, response_model=GroupOut,
             summary="Ask the worker to fetch the group from WeCom again")
def request_sync(request: Request, caller: Tagger, group_id: GroupId) -> GroupOut:
    with write(runtime_of(request).engine) as conn:
        group = _found(conn, caller.workspace_id, group_id)
        store.request_sync(conn, caller.workspace_id, group.corp_id, group.chat_id, clock.now())
        return _group_out(_found(conn, caller.workspace_id, group_id))


@profiles_router.get("/{profile_id}/groups", summary="The groups a person is or was in")
def person_groups(request: Request, caller: Reader,
                  profile_id: Annotated[int, Path(ge=1, le=2**62)]) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        live = resolve_profile_id(conn, caller.workspace_id, profile_id)
        userids = [i["value"] for i in identities_of(conn, caller.workspace_id, live)
                   if i["type"].startswith("wecom_external_userid:")]
        return store.groups_of_person(conn, caller.workspace_id, [live], userids)
