"""What every channel adapter offers the delivery worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class ChannelError(Exception):
    """A send that failed. ``retryable``: the worker tries again later (timeouts, 5xx, rate limits);
    otherwise the message fails for good (bad address, rejected content) with ``code``."""

    def __init__(self, code: str, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retryable = retryable


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
