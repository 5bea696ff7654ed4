"""Management API for tags and tag groups, and tagging people one by one or in bulk."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.profiles import read_store, tag_store
from siyu.profiles.errors import ProfileError
from siyu.profiles.models import ProfileFilter, TagGroupKind
from siyu.profiles.tagging import tag_profiles
from siyu.profiles.targeting import build_filter, parse_identifier_list, profile_ids_for
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api", tags=["tags"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
Manager = Annotated[Principal, Depends(require(Permission.TAGS_MANAGE))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
ProfileId = Annotated[int, Path(ge=1, le=2**62)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
MAX_UPLOAD_BYTES = 32 * 2**20


class TagOut(BaseModel):
    id: int
    name: str
    group: str | None = None
    kind: str | None = None
    description: str | None = None
    profiles: int = 0


class TagIn(BaseModel):
    name: Name
    group: Annotated[str | None, Field(max_length=100)] = None
    kind: TagGroupKind = TagGroupKind.BUSINESS
    description: Annotated[str | None, Field(max_length=2000)] = None


class TagPatch(BaseModel):
    name: Name | None = None
    group: Annotated[str | None, Field(max_length=100)] = None
    kind: TagGroupKind | None = None
    description: Annotated[str | None, Field(max_length=2000)] = None


class GroupOut(BaseModel):
    id: int
    name: str
    kind: TagGroupKind
    tags: int = 0


class GroupIn(BaseModel):
    name: Name
    kind: TagGroupKind = TagGroupKind.BUSINESS


class ProfileTagsIn(BaseModel):
    add: list[Name] = Field(default_factory=list, max_length=100)
    remove: list[Name] = Field(default_factory=list, max_length=100)


class FilterIn(BaseModel):
    text: Annotated[str | None, Field(max_length=320)] = None
    tags: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list, max_length=100)
    identifier_type: Annotated[str | None, Field(max_length=100)] = None
    identifier_value: Annotated[str | None, Field(max_length=320)] = None
    trait_key: Annotated[str | None, Field(max_length=200)] = None
    trait_value: Annotated[str | None, Field(max_length=400)] = None
    channel: Annotated[str | None, Field(max_length=100)] = None


class IdentifierIn(BaseModel):
    type: Annotated[str, Field(max_length=100)]
    value: Annotated[str, Field(max_length=320)]


class BulkIn(BaseModel):
    action: Literal["add", "remove"]
    filter: FilterIn | None = None
    identifiers: list[IdentifierIn] | None = Field(default=None, max_length=100_000)


class BulkOut(BaseModel):
    tag: TagOut
    changed: int
    matched: int
    unknown: int = 0
    invalid: int = 0


@router.get("/tags", response_model=list[TagOut], summary="Tags with how many profiles carry each")
def list_tags(request: Request, caller: Reader) -> list[TagOut]:
    with read(runtime_of(request).engine) as conn:
        return [TagOut(**t) for t in tag_store.list_tags(conn, caller.workspace_id)]


@router.post("/tags", response_model=TagOut, status_code=201, summary="Create a tag (and its group)")
def create_tag(request: Request, caller: Manager, body: TagIn) -> TagOut:
    with write(runtime_of(request).engine) as conn:
        return TagOut(**tag_store.create_tag(conn, caller.workspace_id, body.name, group=body.group, kind=body.kind,
                                             description=body.description, at=clock.now()))


@router.delete("/tags/{tag_id}", status_code=204, summary="Delete a tag and remove it from everyone")
def delete_tag(request: Request, caller: Manager, tag_id: Id) -> None:
    with write(runtime_of(request).engine) as conn:
        tag_store.delete_tag(conn, caller.workspace_id, tag_id)


@router.patch("/tags/{tag_id}", response_model=TagOut, summary="Rename a tag, describe it or move it to a group")
def patch_tag(request: Request, caller: Manager, tag_id: Id, body: TagPatch) -> TagOut:
    with write(runtime_of(request).engine) as conn:
        tag_store.update_tag(conn, caller.workspace_id, tag_id, body.model_dump(exclude_unset=True), clock.now())
        return _tag_out(conn, caller.workspace_id, tag_id)


@router.get("/tag-groups", response_model=list[GroupOut], summary="Tag groups (identity or business)")
def list_groups(request: Request, caller: Reader) -> list[GroupOut]:
    with read(runtime_of(request).engine) as conn:
        return [GroupOut(**g) for g in tag_store.list_groups(conn, caller.workspace_id)]


@router.post("/tag-groups", response_model=GroupOut, status_code=201, summary="Create a tag group")
def create_group(request: Request, caller: Manager, body: GroupIn) -> GroupOut:
    with write(runtime_of(request).engine) as conn:
        return GroupOut(**tag_store.create_group(conn, caller.workspace_id, body.name, body.kind, clock.now()))


@router.delete("/tag-groups/{group_id}", status_code=204, summary="Delete a tag group (its tags become ungrouped)")
def delete_group(request: Request, caller: Manager, group_id: Id) -> None:
    with write(runtime_of(request).engine) as conn:
        tag_store.delete_group(conn, caller.workspace_id, group_id)


@router.post("/profiles/{profile_id}/tags", response_model=list[str], summary="Add or remove tags on one person")
def edit_profile_tags(request: Request, caller: Writer, profile_id: ProfileId, body: ProfileTagsIn) -> list[str]:
    with write(runtime_of(request).engine) as conn:
        live_id = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        for name, remove in [(n, False) for n in body.add] + [(n, True) for n in body.remove]:
            tag = tag_store.get_tag(conn, caller.workspace_id, name=name)
            tag_profiles(conn, caller.workspace_id, tag, profile_ids=[live_id], source="manual", actor=caller.actor,
                         remove=remove)
        return [t["name"] for t in read_store.profile_detail(conn, caller.workspace_id, live_id)["tags"]]


@router.post("/tags/{tag_id}/bulk", response_model=BulkOut,
             summary="Tag or untag everyone matching a filter, or a list of identifiers")
def bulk(request: Request, caller: Manager, tag_id: Id, body: BulkIn) -> BulkOut:
    if (body.filter is None) == (body.identifiers is None):
        raise ProfileError("Give either 'filter' or 'identifiers'.", code="tags.bad_bulk")
    remove = body.action == "remove"
    with write(runtime_of(request).engine) as conn:
        if body.identifiers is not None:
            return _bulk_list(conn, caller, tag_id, [(i.type, i.value) for i in body.identifiers], remove)
        tag = tag_store.get_tag(conn, caller.workspace_id, tag_id=tag_id)
        where = filter_from(body.filter, workspace_store.get_workspace(conn, caller.workspace_id).default_region)
        matched = read_store.count_profiles(conn, caller.workspace_id, where)
        changed = tag_profiles(conn, caller.workspace_id, tag, where=where, source="bulk", actor=caller.actor,
                               remove=remove)
        return BulkOut(tag=_tag_out(conn, caller.workspace_id, tag_id), changed=changed, matched=matched)


@router.post("/tags/{tag_id}/upload", response_model=BulkOut,
             summary="Tag or untag everyone in an uploaded list (CSV or plain text, UTF-8 or GBK)")
def upload(request: Request, caller: Manager, tag_id: Id,
           content: Annotated[bytes, Body(media_type="text/csv",
                                          description="'type,value' lines, or values of ?type=")],
           action: Annotated[Literal["add", "remove"], Query()] = "add",
           type: Annotated[str | None, Query(max_length=100, description="Type of every value, e.g. phone")] = None,
           ) -> BulkOut:
    if len(content) > MAX_UPLOAD_BYTES:
        raise ProfileError(f"The list is larger than {MAX_UPLOAD_BYTES // 2**20} MB; split it.",
                           code="tags.list_too_large", status=413)
    pairs = parse_identifier_list(_decode(content), type)
    with write(runtime_of(request).engine) as conn:
        return _bulk_list(conn, caller, tag_id, pairs, action == "remove")


def _decode(content: bytes) -> str:
    """Operators' lists come from Excel on Chinese Windows as often as from anywhere else."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ProfileError("The list is neither UTF-8 nor GBK text.", code="tags.bad_list")


def _bulk_list(conn: Connection, caller: Principal, tag_id: int, pairs: list[tuple[str, str]],
               remove: bool) -> BulkOut:
    tag = tag_store.get_tag(conn, caller.workspace_id, tag_id=tag_id)
    region = workspace_store.get_workspace(conn, caller.workspace_id).default_region
    ids, unknown, invalid = profile_ids_for(conn, caller.workspace_id, pairs, region)
    changed = tag_profiles(conn, caller.workspace_id, tag, profile_ids=ids, source="bulk", actor=caller.actor,
                           remove=remove)
    return BulkOut(tag=_tag_out(conn, caller.workspace_id, tag_id), changed=changed, matched=len(ids),
                   unknown=unknown, invalid=invalid)


def _tag_out(conn: Connection, workspace_id: int, tag_id: int) -> TagOut:
    return TagOut(**next(t for t in tag_store.list_tags(conn, workspace_id) if t["id"] == tag_id))


def filter_from(body: FilterIn | None, region: str) -> ProfileFilter:
    if body is None:
        return ProfileFilter()
    return build_filter(region=region, text=body.text, tag_ids=tuple(body.tags), identifier_type=body.identifier_type,
                        identifier_value=body.identifier_value, trait_key=body.trait_key,
                        trait_value=body.trait_value, channel=body.channel)
