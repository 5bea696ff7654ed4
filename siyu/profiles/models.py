from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TagGroupKind(StrEnum):
    IDENTITY = "identity"  # 身份标签: who the person is (new customer, member, KOC, staff)
    BUSINESS = "business"  # 业务标签: what they do or want (lipstick lover, 618 buyer)


class ConsentChannel(StrEnum):
    WECHAT = "wechat"
    WECOM = "wecom"
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"


class ConsentPurpose(StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    REVOKED = "revoked"


@dataclass(frozen=True)
class ProfileFilter:
    """Which profiles a search or a bulk operation applies to; all given conditions must hold."""

    text: str | None = None  # name / nickname traits, or the start of an identifier value
    tag_ids: tuple[int, ...] = ()  # has any of these tags
    identifier: tuple[str, str] | None = None  # (type, normalised value)
    trait: tuple[str, str] | None = None  # (key, value as text)
    channel: str | None = None  # first-touch channel


@dataclass
class ProfileSummary:
    id: int
    name: str | None
    phone: str | None
    first_channel: str | None
    last_seen_at: object
    order_count: int
    total_spend: float
    tags: list[str] = field(default_factory=list)
