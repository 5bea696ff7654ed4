"""Access tokens shared by the WeChat and WeCom adapters: a per-process cache, and telling a
request that never left from one that may have reached the platform.

Both platforms hand out tokens valid for 7,200 s and refuse a stale one with an errcode (WeChat
40001 / 42001, WeCom 40014 / 42001) — the adapters then :meth:`TokenCache.discard` it, fetch again
and retry the call once, which is safe because the refused call did nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from urllib3.exceptions import NewConnectionError

# Seconds before expiry that a cached token is renewed: WeChat's stable_token hands out the next
# token in the last 5 minutes; WeCom may end a token early anyway ("企业微信可能会出于运营需要，
# 提前使access_token失效", path/91039), which the stale-token retry covers.
REFRESH_EARLY = 300


class TokenCache:
    """Access tokens of this process, per (API base URL, account); one fetch at a time per account."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def token(self, key: tuple[str, str], fetch: Callable[[], tuple[str, int]]) -> str:
        with self._lock(key):  # threads of one process wait for the one fetch instead of each fetching
            cached = self._tokens.get(key)
            if cached is not None and cached[1] > self.clock():
                return cached[0]
            token, expires_in = fetch()
            self._tokens[key] = (token, self.clock() + expires_in - REFRESH_EARLY)
            return token

    def discard(self, key: tuple[str, str], token: str) -> None:
        """Forget ``token`` after the platform refused it — unless another thread has replaced it already."""
        with self._lock(key):
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]


TOKENS = TokenCache()


def never_sent(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the platform (no connection was made)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)
