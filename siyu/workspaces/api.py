"""Management API for the caller's own workspace and its keys."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import BaseModel, Field

from siyu.api.auth import forget_keys, require, runtime_of
from siyu.db.engine import read, write
from siyu.errors import NotFound
from siyu.workspaces import settings as workspace_settings
from siyu.workspaces import store
from siyu.workspaces.models import KeyKind, Permission, Principal, Role

router = APIRouter(prefix="/api", tags=["workspaces"])
Admin = Annotated[Principal, Depends(require(Permission.WORKSPACE_ADMIN))]
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]


class WorkspaceOut(BaseModel):
    id: int
    name: str
    display_name: str
    timezone: str
    default_region: str


class KeyOut(BaseModel):
    id: int
    kind: str
    role: str | None
    name: str
    key_prefix: str
    revoked: bool


class KeyCreate(BaseModel):
    kind: Literal["write", "secret"]
    role: Literal["owner", "operator", "analyst", "staff"] | None = None
    name: str = Field(default="", max_length=200)


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself. Shown only once: store it now.")


@router.get("/workspace", response_model=WorkspaceOut, summary="The workspace the caller acts in")
def get_workspace(request: Request, caller: Reader) -> WorkspaceOut:
    with read(runtime_of(request).engine) as conn:
        ws = store.get_workspace(conn, caller.workspace_id)
    return WorkspaceOut(id=ws.id, name=ws.name, display_name=ws.display_name, timezone=ws.timezone,
                        default_region=ws.default_region)


@router.get("/keys", response_model=list[KeyOut], summary="List the workspace's keys (never their secrets)")
def list_keys(request: Request, caller: Admin) -> list[KeyOut]:
    with read(runtime_of(request).engine) as conn:
        keys = store.list_keys(conn, caller.workspace_id)
    return [KeyOut(id=k.id, kind=k.kind.value, role=k.role.value if k.role else None, name=k.name,
                   key_prefix=k.key_prefix, revoked=k.revoked_at is not None) for k in keys]


@router.post("/keys", response_model=KeyCreated, status_code=201, summary="Create a write key or a secret key")
def create_key(request: Request, body: KeyCreate, caller: Admin) -> KeyCreated:
    with write(runtime_of(request).engine) as conn:
        key, plaintext = store.create_key(conn, caller.workspace_id, KeyKind(body.kind),
                                          role=Role(body.role) if body.role else None, name=body.name)
    return KeyCreated(id=key.id, kind=key.kind.value, role=key.role.value if key.role else None, name=key.name,
                      key_prefix=key.key_prefix, revoked=False, key=plaintext)


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke a key")
def revoke_key(request: Request, key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], caller: Admin) -> None:
    with write(runtime_of(request).engine) as conn:
        if not store.revoke_key(conn, caller.workspace_id, key_id):
            raise NotFound(f"No live key {key_id} in this workspace.", code="workspaces.key_not_found")
    forget_keys(runtime_of(request))


class SettingsOut(BaseModel):
    settings: dict[str, Any] = Field(description="The settings document, secrets shown as ********.")


@router.get("/workspace/settings", response_model=SettingsOut, summary="The workspace's settings, secrets masked")
def get_settings(request: Request, caller: Admin) -> SettingsOut:
    with read(runtime_of(request).engine) as conn:
        ws = store.get_workspace(conn, caller.workspace_id)
    return SettingsOut(settings=workspace_settings.redact(ws.settings))


@router.patch("/workspace/settings", response_model=SettingsOut,
              summary="Change settings by JSON merge patch (RFC 7386); each section is checked before it is kept")
def patch_settings(request: Request, caller: Admin,
                   patch: Annotated[dict[str, Any], Body(description="keys to set; null removes")]) -> SettingsOut:
    with write(runtime_of(request).engine) as conn:
        ws = store.workspace_for_update(conn, caller.workspace_id)
        merged = workspace_settings.merge_patch(ws.settings, patch)
        workspace_settings.validate(merged, ws.timezone)
        store.update_workspace_settings(conn, ws.id, merged)
    return SettingsOut(settings=workspace_settings.redact(merged))
