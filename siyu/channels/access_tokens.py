"""What the WeChat and WeCom adapters share: a per-process access-token cache, the retry with a
fresh token, and turning a wechatpy call's outcome into an answer or a ChannelError (telling a
request that never left from one that may have reached the platform).

Both platforms hand out tokens valid for 7,200 s and refuse a stale one with an errcode (WeChat
40001 / 42001, WeCom 40014 / 42001) — the adapters then :meth:`TokenCache.discard` it, fetch again
and retry the call once, which is safe because the refused call did nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from urllib3.exceptions import NewConnectionError
from wechatpy.exceptions import WeChatClientException

from siyu.channels.base import ChannelError

T = TypeVar("T")

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


class StaleToken(Exception):
    """The platform refused the access token: the call did nothing; fetch a fresh one and retry."""


def with_fresh_token(tokens: TokenCache, key: tuple[str, str], access_token: Callable[[], str],
                     post: Callable[[str], T], platform: str) -> T:
    """``post(token)``, and once more with a fresh token if the cached one was stale."""
    token = access_token()
    try:
        return post(token)
    except StaleToken:
        tokens.discard(key, token)
    try:
        return post(access_token())
    except StaleToken as error:
        raise ChannelError(f"{platform}.token", f"A fresh access token was refused too: {error}",
                           retryable=True) from None


def platform_answer(call: Callable[[], Any], *, platform: str, stale: frozenset[int],
                    refusal: Callable[[int, str], ChannelError], lost: str) -> dict[str, Any]:
    """The JSON answer of a wechatpy ``call``, or the ChannelError it means: a stale token
    (:class:`StaleToken`), the platform's errcode (``refusal``), an HTTP error status, a request that
    never left (retried) or one that may have arrived (``<platform>.uncertain``, never resent;
    ``lost`` says what may have happened: "the message may have been sent")."""
    name = {"wechat": "WeChat", "wecom": "WeCom"}.get(platform, platform)
    try:
        answer = call()
    except WeChatClientException as error:
        if error.errcode in stale:
            raise StaleToken(f"errcode {error.errcode}: {error.errmsg}") from None
        if error.errcode is None:  # an HTTP error status, not the platform's answer
            status = error.response.status_code if error.response is not None else 0
            raise ChannelError(f"{platform}.unavailable", f"HTTP {status}", retryable=status >= 500 or status == 429
                               ) from None
        raise refusal(int(error.errcode), str(error.errmsg)) from None
    except requests.RequestException as error:
        if never_sent(error):
            raise ChannelError(f"{platform}.unreachable", f"{type(error).__name__}: {error}", retryable=True) from None
        raise ChannelError(f"{platform}.uncertain", f"{type(error).__name__}: {error} — {lost}; not sent again.",
                           retryable=False) from None
    if not isinstance(answer, dict):  # wechatpy hands back the raw response when it isn't JSON
        raise ChannelError(f"{platform}.uncertain", f"The answer was not {name}'s JSON; {lost}; not sent again.",
                           retryable=False)
    return answer
