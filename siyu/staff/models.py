"""Staff values: who serves customers, who owns whom, and the hand-overs between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class StaffKind(StrEnum):
    MEMBER = "member"  # a WeCom member (userid)
    PERSONA = "persona"  # 人设: a named identity customers see, served by one or more members


class StaffStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class OwnershipReason(StrEnum):
    ADDED = "added"  # add_external_contact
    TRANSFER = "transfer"  # 在职转接 taken over
    RESIGNED_TRANSFER = "resigned_transfer"  # 离职继承 taken over
    DELETED_BY_STAFF = "deleted_by_staff"  # del_external_contact
    DELETED_BY_CUSTOMER = "deleted_by_customer"  # del_follow_user
    TRANSFERRED = "transferred"  # the spell ended because another member took over


class TransferKind(StrEnum):
    IN_SERVICE = "in_service"  # 在职转接: the member stays, chosen customers move
    RESIGNED = "resigned"  # 离职继承: the member left


class TransferStatus(StrEnum):
    DECIDED = "decided"  # written, not yet handed to WeCom
    WAITING = "waiting"  # WeCom accepted it; the takeover happens 24 h later unless the customer refuses
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # WeCom refused it (errcode) or the customer did (status 3)
    REFUSED = "refused"  # siyu refused it before asking WeCom (the 90-day limit, not the member's customer)

    @property
    def final(self) -> bool:
        return self in (TransferStatus.SUCCEEDED, TransferStatus.FAILED, TransferStatus.REFUSED)


class SopSchedule(StrEnum):
    ONCE = "once"  # everyone in the segment when the rule first runs
    DAILY = "daily"  # every day, the people who entered the segment since the last run


@dataclass(frozen=True)
class Staff:
    id: int
    kind: StaffKind
    userid: str | None
    name: str
    avatar_url: str | None
    signature: str | None
    department: str | None
    persona_id: int | None
    status: StaffStatus
    created_at: datetime
    left_at: datetime | None


@dataclass(frozen=True)
class Spell:
    """One member's ownership of one customer, from ``started_at`` until ``ended_at`` (None: now)."""

    id: int
    profile_id: int
    userid: str
    external_userid: str | None
    state: str | None
    started_at: datetime
    start_reason: str
    ended_at: datetime | None
    end_reason: str | None


@dataclass(frozen=True)
class Transfer:
    id: int
    kind: TransferKind
    profile_id: int
    external_userid: str
    handover_userid: str
    takeover_userid: str
    message: str | None
    status: TransferStatus
    errcode: int | None
    reason: str | None
    created_at: datetime
    submitted_at: datetime | None
    takeover_at: datetime | None
