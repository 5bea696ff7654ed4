"""Management API for tags and tag groups, and tagging people one by one or in bulk."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.profiles import read_store, tag_store
from siyu.profiles.errors import ProfileError
from siyu.profiles.models import ProfileFilter, TagGroupKind
from siyu.profiles.tagging import tag_profiles
from siyu.profiles.targeting import build_filter, profile_ids_for
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api", tags=["tags"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
Manager = Annotated[Principal, Depends(require(Permission.TAGS_MANAGE))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
ProfileId = Annotated[int, Path(ge=1, le=2**62)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


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
    with write(runtime_of(request).engine) as conn:
        tag = tag_store.get_tag(conn, caller.workspace_id, tag_id=tag_id)
        region = workspace_store.get_workspace(conn, caller.workspace_id).default_region
        unknown = invalid = 0
        if body.identifiers is not None:
            ids, unknown, invalid = profile_ids_for(conn, caller.workspace_id,
                                                    [(i.type, i.value) for i in body.identifiers], region)
            matched = len(ids)
            changed = tag_profiles(conn, caller.workspace_id, tag, profile_ids=ids, source="bulk",
                                   actor=caller.actor, remove=body.action == "remove")
        else:
            where = filter_from(body.filter, region)
            matched = read_store.count_profiles(conn, caller.workspace_id, where)
            changed = tag_profiles(conn, caller.workspace_id, tag, where=where, source="bulk", actor=caller.actor,
                                   remove=body.action == "remove")
        listed = {t["id"]: t for t in tag_store.list_tags(conn, caller.workspace_id)}
    return BulkOut(tag=TagOut(**listed[tag_id]), changed=changed, matched=matched, unknown=unknown, invalid=invalid)


def filter_from(body: FilterIn | None, region: str) -> ProfileFilter:
    if body is None:
        return ProfileFilter()
    return build_filter(region=region, text=body.text, tag_ids=tuple(body.tags), identifier_type=body.identifier_type,
                        identifier_value=body.identifier_value, trait_key=body.trait_key,
                        trait_value=body.trait_value, channel=body.channel)
