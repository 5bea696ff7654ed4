"""How fast a worker hands messages to one channel: at most ``concurrency`` at a time and at most
``rate_per_second`` on average, per workspace and channel, as set in ``settings.channels.<name>``.

Providers limit both (an SMS gateway's QPS, an SMTP server's connections, a customer's webhook); a
worker that ignores them gets throttled errors and retries. The limits hold per worker process: with
several workers, give each its share. Waiting uses real time — a provider's limit is in real
seconds — through an injectable ``sleep`` and ``monotonic`` so that tests need not wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CONCURRENCY = 4


@dataclass
class Bucket:
    """A token bucket of ``rate`` tokens a second holding at most one second's worth."""

    rate: float
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    tokens: float = field(default=0.0)
    updated: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> float:
        """Wait for a token; returns the seconds waited."""
        with self.lock:
            now = self.monotonic()
            if self.updated is None:
                self.tokens, self.updated = max(1.0, self.rate), now
            self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= 1
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait:
            self.sleep(wait)
        return wait


@dataclass(frozen=True)
class Limits:
    concurrency: int = DEFAULT_CONCURRENCY
    rate_per_second: float | None = None


def limits_of(config: Mapping[str, Any] | None) -> Limits:
    """``concurrency`` (1-64) and ``rate_per_second`` (> 0) from a channel's settings; ValueError on nonsense."""
    config = config or {}
    concurrency = int(config.get("concurrency", DEFAULT_CONCURRENCY))
    if not 1 <= concurrency <= 64:
        raise ValueError("concurrency must be 1-64")
    rate = config.get("rate_per_second")
    if rate is not None and not float(rate) > 0:
        raise ValueError("rate_per_second must be more than 0")
    return Limits(concurrency, float(rate) if rate is not None else None)


class Pacer:
    """Process-wide: one semaphore and one bucket per (workspace, channel), created on first use and
    replaced when the settings change."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.monotonic, self.sleep = monotonic, sleep
        self._lock = threading.Lock()
        self._slots: dict[tuple[int, str], tuple[Limits, threading.BoundedSemaphore, Bucket | None]] = {}

    def _slot(self, workspace_id: int, channel: str, limits: Limits) -> tuple[threading.BoundedSemaphore,
                                                                              Bucket | None]:
        with self._lock:
            found = self._slots.get((workspace_id, channel))
            if found is None or found[0] != limits:
                bucket = Bucket(limits.rate_per_second, self.monotonic, self.sleep) if limits.rate_per_second else None
                found = (limits, threading.BoundedSemaphore(limits.concurrency), bucket)
                self._slots[(workspace_id, channel)] = found
            return found[1], found[2]

    @contextmanager
    def turn(self, workspace_id: int, channel: str, limits: Limits) -> Iterator[None]:
        semaphore, bucket = self._slot(workspace_id, channel, limits)
        with semaphore:
            if bucket is not None:
                bucket.take()
            yield


PACER = Pacer()
