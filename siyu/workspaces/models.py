from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    OWNER = "owner"
    OPERATOR = "operator"
    ANALYST = "analyst"
    STAFF = "staff"


class KeyKind(StrEnum):
    WRITE = "write"  # ingest only (/v1/*), like a Segment source write key
    SECRET = "secret"  # management API, with a role


class Permission(StrEnum):
    PROFILES_READ = "profiles:read"
    PROFILES_WRITE = "profiles:write"  # traits, tags, consent, merges
    PROFILES_ERASE = "profiles:erase"
    TAGS_MANAGE = "tags:manage"  # create / delete tags and groups, bulk tagging
    IMPORTS_WRITE = "imports:write"
    EXPORT = "export"
    SEGMENTS_MANAGE = "segments:manage"  # save, change, refresh and archive segments and auto-tag rules
    MESSAGES_SEND = "messages:send"  # queue messages to people (journeys and broadcasts later too)
    WORKSPACE_ADMIN = "workspace:admin"  # keys, members, settings


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.OPERATOR: frozenset(
        {Permission.PROFILES_READ, Permission.PROFILES_WRITE, Permission.TAGS_MANAGE,
         Permission.IMPORTS_WRITE, Permission.EXPORT, Permission.SEGMENTS_MANAGE, Permission.MESSAGES_SEND}
    ),
    Role.ANALYST: frozenset({Permission.PROFILES_READ, Permission.EXPORT}),
    # Staff serve customers 1:1: they read profiles and tag the people they talk to.
    Role.STAFF: frozenset({Permission.PROFILES_READ, Permission.PROFILES_WRITE}),
}


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    display_name: str
    timezone: str
    default_region: str
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class ApiKey:
    id: int
    workspace_id: int
    kind: KeyKind
    role: Role | None
    name: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class User:
    id: int
    email: str
    display_name: str
    locale: str | None
    password_hash: str = field(repr=False, default="")


@dataclass(frozen=True)
class Principal:
    """Who is acting: a key or a console user, always inside exactly one workspace."""

    workspace_id: int
    role: Role
    actor: str  # "key:12" or "user:3", written into audit trails

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]
