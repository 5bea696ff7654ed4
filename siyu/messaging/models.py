"""Messages, the facts a contact policy looks at, and its verdicts: plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

from siyu.profiles.models import ConsentChannel


class Channel(StrEnum):
    WECHAT_TEMPLATE = "wechat_template"  # 模板消息: service notices
    WECHAT_SUBSCRIBE = "wechat_subscribe"  # 订阅消息: one send per subscription
    WECHAT_CS = "wechat_cs"  # 客服消息: free-form, inside the 48-hour window
    WECOM = "wecom"  # external-contact message from a staff member
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"

    @property
    def consent(self) -> ConsentChannel:
        """The consent a person gives or withdraws covers a channel family, not each message type."""
        if self.value.startswith("wechat"):
            return ConsentChannel.WECHAT
        return ConsentChannel(self.value)


class WeComLimit(StrEnum):
    """How many company mass messages a WeCom customer may receive: the admin's choice under
    群发助手 → 设置群发规则 (developer.work.weixin.qq.com/document/path/92135, updated 2025-11-17)."""

    MONTH = "month"  # the default: as many a calendar month as the month has days
    WEEK = "week"  # 7 a week
    DAY = "day"  # 1 a day


class Purpose(StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class Status(StrEnum):
    QUEUED = "queued"  # waiting for its due time (also: deferred by quiet hours or a cooldown)
    CLAIMED = "claimed"  # a worker decided to send it and holds it until lease_until; not yet handed over
    SENDING = "sending"  # handed to the channel; lease_until bounds the attempt
    SENT = "sent"  # the channel accepted it
    STOPPED = "stopped"  # a contact policy stopped it; ``reason`` says which
    FAILED = "failed"  # the channel refused it for good (bad address, template rejected)
    DEAD = "dead"  # retryable failures until the attempt limit: dead-lettered with the last error
    UNCERTAIN = "uncertain"  # a worker died mid-send on a channel that can't dedupe: never re-sent

    @property
    def final(self) -> bool:
        return self not in (Status.QUEUED, Status.CLAIMED, Status.SENDING)


# Statuses that count against frequency caps and cooldowns: anything that may reach or have reached the
# person (claimed ones too, so that two workers deciding for one person see each other).
REACHED = (Status.CLAIMED, Status.SENDING, Status.SENT, Status.UNCERTAIN)


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` marketing messages per ``days`` (calendar days in the workspace time zone,
    the current one included), on one channel or on all (``channel`` None)."""

    limit: int
    days: int = 1
    channel: Channel | None = None


@dataclass(frozen=True)
class PolicySettings:
    """A workspace's contact policy (``settings.messaging``); journeys may override caps and cooldown."""

    caps: tuple[Cap, ...] = (Cap(limit=3, days=1), Cap(limit=10, days=7))
    cooldown: timedelta = timedelta(hours=4)  # between two marketing pushes to one person
    quiet_start: time | None = time(21, 0)  # no marketing from 21:00 ...
    quiet_end: time | None = time(8, 0)  # ... to 08:00, workspace time zone: deferred, not dropped
    timezone: str = "Asia/Shanghai"
    cs_window: timedelta = timedelta(hours=48)  # WeChat customer-service window after a user message
    cs_window_messages: int = 5  # messages per window (from 2023-06-12; was 20)
    cs_interaction_window: timedelta = timedelta(minutes=1)  # after a follow, a QR scan or a menu click ...
    cs_interaction_messages: int = 3  # ... this many customer-service messages (the welcome after a follow)
    wecom_limit: WeComLimit = WeComLimit.MONTH  # mass messages a WeCom customer may receive (platform rule)
    marketing_needs_grant: tuple[str, ...] = ("sms", "email")  # opt-in channels (PIPL, 广告法 Art. 43)


@dataclass(frozen=True)
class Sent:
    """One earlier message to the person, as the policy sees it."""

    channel: Channel
    purpose: Purpose
    at: datetime


@dataclass(frozen=True)
class Facts:
    """What the policy knows about the person at decision time."""

    consents: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, purpose) -> granted|revoked
    address: str | None = None  # where this channel reaches them (openid, phone, email, ...)
    wechat_followed: bool | None = None  # None: unknown (no follow or unfollow seen)
    last_user_message_at: datetime | None = None  # opens the 48-hour customer-service window
    last_interaction_at: datetime | None = None  # a follow, QR scan or menu click: 3 messages within a minute
    history: tuple[Sent, ...] = ()  # messages that may have reached them, newest first
    subscription: bool | None = None  # wechat_subscribe: a one-time subscription is left; None: not looked up


@dataclass(frozen=True)
class Verdict:
    action: str  # send | defer | stop
    reason: str | None = None  # stable code: policy.unsubscribed, policy.frequency_cap, ...
    detail: str | None = None
    until: datetime | None = None  # for defer

    @classmethod
    def send(cls) -> Verdict:
        return cls("send")

    @classmethod
    def stop(cls, reason: str, detail: str) -> Verdict:
        return cls("stop", reason, detail)

    @classmethod
    def defer(cls, until: datetime, reason: str, detail: str) -> Verdict:
        return cls("defer", reason, detail, until)


@dataclass
class Message:
    """An outbox row."""

    id: int
    workspace_id: int
    profile_id: int
    channel: Channel
    purpose: Purpose
    source: str
    idempotency_key: str
    status: Status
    payload: dict[str, Any]
    due_at: datetime
    attempts: int = 0
    recipient: str | None = None
    reason: str | None = None
    detail: str | None = None
    provider_id: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    lease_until: datetime | None = None
