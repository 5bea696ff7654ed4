"""Values of the groups capability: states as named enums, rows as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class GroupStatus(StrEnum):
    ACTIVE = "active"
    DISMISSED = "dismissed"


class MemberType(StrEnum):
    STAFF = "staff"  # a member of the company (type 1)
    EXTERNAL = "external"  # a customer (type 2)


class JoinScene(StrEnum):
    """How someone joined (groupchat/get ``join_scene``, path/92122: 1 invited directly, 2 invite
    link, 3 the group's QR code)."""

    INVITED = "invited"
    LINK = "link"
    QR = "qr"
    UNKNOWN = "unknown"


class QuitScene(StrEnum):
    """Why a stint ended (the change event's ``QuitScene``: 0 left, 1 removed by owner or admin)."""

    LEFT = "left"
    REMOVED = "removed"
    DISMISSED = "dismissed"  # the group was dismissed
    UNKNOWN = "unknown"  # gone at the next sync, without a change event saying why


class TaskStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # handed to WeCom; an answer never came back if it stays here
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"  # the call may have reached WeCom: never sent again (a second task would repeat it)


@dataclass(frozen=True)
class Group:
    id: int
    workspace_id: int
    corp_id: str
    chat_id: str
    name: str | None
    owner_userid: str | None
    notice: str | None
    status: GroupStatus
    member_count: int
    platform_created_at: datetime | None
    sync_due_at: datetime | None
    sync_attempts: int
    sync_error: str | None
    synced_at: datetime | None
    dismissed_at: datetime | None
    created_at: datetime
    tags: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DetailMember:
    """One ``member_list`` entry of groupchat/get."""

    userid: str
    member_type: MemberType
    joined_at: datetime
    join_scene: JoinScene
    invitor_userid: str | None = None
    unionid: str | None = None
    name: str | None = None
    group_nickname: str | None = None


@dataclass(frozen=True)
class GroupDetail:
    chat_id: str
    name: str
    owner_userid: str
    notice: str
    created_at: datetime | None
    member_version: str | None
    members: list[DetailMember]


@dataclass(frozen=True)
class Stint:
    """A member's current (open) stint in a group, as stored."""

    id: int
    userid: str
    joined_at: datetime
    profile_id: int | None
