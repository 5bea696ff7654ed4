"""Management API for profiles: lookup, search, detail, events, traits, consent, merges, erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.errors import Forbidden
from siyu.identity import store as identity_store
from siyu.identity.normalise import normalise
from siyu.identity.rules import IdentityRules
from siyu.profiles import editing, read_store
from siyu.profiles.cursors import decode_cursor, encode_cursor
from siyu.profiles.errors import ProfileError, ProfileNotFound
from siyu.profiles.models import ConsentChannel, ConsentPurpose, ConsentStatus, ProfileFilter
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal, Role

router = APIRouter(prefix="/api/profiles", tags=["profiles"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
Eraser = Annotated[Principal, Depends(require(Permission.PROFILES_ERASE))]
ProfileId = Annotated[int, Path(ge=1, le=2**62, description="Profile id (a merged-away id leads to its survivor)")]
Text = Annotated[str | None, Query(max_length=320)]


class IdentityOut(BaseModel):
    type: str
    value: str
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    source: str | None = None


class TagOut(BaseModel):
    id: int
    name: str
    group: str | None = None
    kind: str | None = None
    source: str | None = None
    added_at: datetime | None = None


class ConsentOut(BaseModel):
    channel: str
    purpose: str
    status: str
    source: str
    updated_at: datetime


class ProfileOut(BaseModel):
    id: int
    created_at: datetime
    updated_at: datetime
    erased: bool
    identities: list[IdentityOut]
    traits: dict[str, Any]
    trait_meta: dict[str, Any]
    tags: list[TagOut]
    consent: list[ConsentOut]
    rollups: dict[str, Any]
    merged_from: list[int]


class ProfileSummaryOut(BaseModel):
    id: int
    name: Any = None
    phone: Any = None
    first_channel: str | None
    last_seen_at: datetime | None
    order_count: int
    total_spend: float
    tags: list[str]


class ProfileList(BaseModel):
    items: list[ProfileSummaryOut]
    next_cursor: str | None
    total: int | None = None


class EventOut(BaseModel):
    id: int
    name: str
    type: str
    message_id: str
    timestamp: datetime
    received_at: datetime
    source: str
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]


class EventList(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class TraitsEdit(BaseModel):
    set: dict[str, Any] = Field(default_factory=dict, max_length=200)
    unset: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=200)


class ConsentIn(BaseModel):
    channel: ConsentChannel
    purpose: ConsentPurpose
    status: ConsentStatus
    source: str = Field(default="api", max_length=64)


class MergeIn(BaseModel):
    other: int = Field(ge=1, le=2**62)
    force: bool = False


class MergePreviewOut(BaseModel):
    into: int
    other: int
    identities: list[IdentityOut]
    allowed: bool
    broken_rule: str | None


class EraseIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class ErasureOut(BaseModel):
    profile_id: int
    identities_removed: int
    events_scrubbed: int


def _filter(q: str | None, tag: list[int] | None, type_: str | None, value: str | None, trait: str | None,
            channel: str | None, region: str) -> ProfileFilter:
    identifier = None
    if type_ is not None or value is not None:
        if not (type_ and value):
            raise ProfileError("Search by identifier needs both 'type' and 'value'.", code="profiles.bad_query")
        found = normalise(type_, value, region)
        identifier = (found.type, found.value)
    trait_pair = None
    if trait is not None:
        key, sep, wanted = trait.partition(":")
        if not sep or not key:
            raise ProfileError("'trait' is written key:value, e.g. city:上海.", code="profiles.bad_query")
        trait_pair = (key, wanted)
    return ProfileFilter(text=q or None, tag_ids=tuple(tag or ()), identifier=identifier, trait=trait_pair,
                         channel=channel or None)


def _region(conn: Any, workspace_id: int) -> str:
    return workspace_store.get_workspace(conn, workspace_id).default_region


@router.get("", response_model=ProfileList, summary="Search profiles (most recently seen first)")
def search(request: Request, caller: Reader, q: Text = None,
           tag: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None,
                          Query(description="Has any of these tag ids", max_length=100)] = None,
           type: Annotated[str | None, Query(max_length=100)] = None, value: Text = None,
           trait: Annotated[str | None, Query(max_length=400, description="key:value")] = None,
           channel: Annotated[str | None, Query(max_length=100)] = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50,
           cursor: Annotated[str | None, Query(max_length=64)] = None) -> ProfileList:
    with read(runtime_of(request).engine) as conn:
        where = _filter(q, tag, type, value, trait, channel, _region(conn, caller.workspace_id))
        items, next_cursor = read_store.search_profiles(conn, caller.workspace_id, where, limit=limit,
                                                        cursor=decode_cursor(cursor))
    return ProfileList(items=[ProfileSummaryOut(**vars(i)) for i in items], next_cursor=encode_cursor(next_cursor))


@router.get("/lookup", response_model=ProfileOut, summary="The profile holding an identifier")
def lookup(request: Request, caller: Reader, type: Annotated[str, Query(max_length=100)],
           value: Annotated[str, Query(max_length=320)]) -> ProfileOut:
    with read(runtime_of(request).engine) as conn:
        identifier = normalise(type, value, _region(conn, caller.workspace_id))
        profile_id = identity_store.find_profile_id(conn, caller.workspace_id, identifier)
        if profile_id is None:
            raise ProfileNotFound(f"No profile has {identifier.type} = {identifier.value}.",
                                  details={"type": identifier.type, "value": identifier.value})
        return ProfileOut(**read_store.profile_detail(conn, caller.workspace_id, profile_id))


@router.get("/{profile_id}", response_model=ProfileOut, summary="One profile")
def detail(request: Request, caller: Reader, profile_id: ProfileId) -> ProfileOut:
    with read(runtime_of(request).engine) as conn:
        return ProfileOut(**read_store.profile_detail(conn, caller.workspace_id, profile_id))


@router.get("/{profile_id}/events", response_model=EventList, summary="A person's events, newest first")
def profile_events(request: Request, caller: Reader, profile_id: ProfileId,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   cursor: Annotated[str | None, Query(max_length=64)] = None) -> EventList:
    with read(runtime_of(request).engine) as conn:
        live_id = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        items, next_cursor = read_store.profile_events(conn, caller.workspace_id, live_id, limit=limit,
                                                       before=decode_cursor(cursor))
    return EventList(items=[EventOut(**i) for i in items], next_cursor=encode_cursor(next_cursor))


@router.patch("/{profile_id}/traits", response_model=ProfileOut, summary="Set or unset traits")
def edit_traits(request: Request, caller: Writer, profile_id: ProfileId, body: TraitsEdit) -> ProfileOut:
    with write(runtime_of(request).engine) as conn:
        live_id = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        editing.edit_traits(conn, caller.workspace_id, live_id, body.set, body.unset, caller.actor)
        return ProfileOut(**read_store.profile_detail(conn, caller.workspace_id, live_id))


@router.put("/{profile_id}/consent", response_model=ProfileOut, summary="Record consent for a channel and purpose")
def put_consent(request: Request, caller: Writer, profile_id: ProfileId, body: ConsentIn) -> ProfileOut:
    with write(runtime_of(request).engine) as conn:
        live_id = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        editing.set_consent(conn, caller.workspace_id, live_id, body.channel.value, body.purpose.value,
                            body.status.value, body.source, caller.actor)
        return ProfileOut(**read_store.profile_detail(conn, caller.workspace_id, live_id))


def _rules(conn: Any, workspace_id: int) -> IdentityRules:
    return IdentityRules.from_settings(workspace_store.get_workspace(conn, workspace_id).settings)


@router.get("/{profile_id}/merge-preview", response_model=MergePreviewOut,
            summary="What merging another profile into this one would give")
def merge_preview(request: Request, caller: Reader, profile_id: ProfileId,
                  other: Annotated[int, Query(ge=1, le=2**62)]) -> MergePreviewOut:
    with read(runtime_of(request).engine) as conn:
        into = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        other_id = read_store.resolve_profile_id(conn, caller.workspace_id, other)
        return MergePreviewOut(**editing.merge_preview(conn, caller.workspace_id, into, other_id,
                                                       _rules(conn, caller.workspace_id)))


@router.post("/{profile_id}/merge", response_model=ProfileOut, summary="Merge another profile into this one")
def merge(request: Request, caller: Writer, profile_id: ProfileId, body: MergeIn) -> ProfileOut:
    if body.force and caller.role is not Role.OWNER:
        raise Forbidden("Only an owner may force a merge that breaks the identity rules.")
    with write(runtime_of(request).engine) as conn:
        into = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        other_id = read_store.resolve_profile_id(conn, caller.workspace_id, body.other)
        editing.merge_profiles(conn, caller.workspace_id, into, other_id, _rules(conn, caller.workspace_id),
                               force=body.force, actor=caller.actor)
        return ProfileOut(**read_store.profile_detail(conn, caller.workspace_id, into))


@router.post("/{profile_id}/erase", response_model=ErasureOut,
             summary="Erase a person (PIPL Art. 47 / GDPR Art. 17), keeping anonymous counts")
def erase(request: Request, caller: Eraser, profile_id: ProfileId, body: EraseIn | None = None) -> ErasureOut:
    with write(runtime_of(request).engine) as conn:
        live_id = read_store.resolve_profile_id(conn, caller.workspace_id, profile_id)
        if read_store.is_erased(conn, caller.workspace_id, live_id):
            return ErasureOut(profile_id=live_id, identities_removed=0, events_scrubbed=0)
        result = read_store.erase_profile(conn, caller.workspace_id, live_id, caller.actor,
                                          body.reason if body else None, clock.now())
    return ErasureOut(profile_id=live_id, **result)

