"""What every channel adapter offers the delivery worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo


class ChannelError(Exception):
    """A send that failed. ``retryable``: the worker tries again later (timeouts, 5xx, rate limits);
    otherwise the message fails for good (bad address, rejected content) with ``code``.

    ``retry_at``: a retryable refusal that names when a retry can work — a daily quota used up
    resets at a known time — so the message waits for it instead of burning its attempts on the
    usual backoff. ``person_event``: what the refusal tells about the person, as an event
    ``(name, properties)`` the worker writes on their timeline with the failure (WeChat's 43004 means
    they unfollowed the account: ``("Unfollowed", {"appid": …})``), so the contact policy stops the
    next message itself instead of asking the platform again."""

    def __init__(self, code: str, detail: str, *, retryable: bool, retry_at: datetime | None = None,
                 person_event: tuple[str, dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retryable = retryable
        self.retry_at = retry_at
        self.person_event = person_event


def next_midnight(now: datetime, zone: str) -> datetime:
    """The next 00:00 in ``zone`` after ``now`` (an aware datetime): when a platform's daily quota,
    counted per calendar day in its own time zone, starts again."""
    local = now.astimezone(ZoneInfo(zone))
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True)
class Delivery:
    """One message handed to a channel. ``key`` is stable across retries of the same message."""

    key: str
    workspace_id: int
    profile_id: int
    recipient: str
    purpose: str
    payload: dict[str, Any]
    unsubscribe_url: str | None = None


class Adapter(Protocol):
    # True when the receiving side can recognise a repeat of ``Delivery.key`` (a webhook consumer
    # deduping on the delivery id): after a worker died mid-send, such a message is sent again;
    # on other channels it is marked uncertain instead, so nobody gets it twice.
    idempotent: bool

    def send(self, delivery: Delivery) -> str | None:
        """Send; return the provider's message id if it gives one. Raise :class:`ChannelError`."""
        ...
