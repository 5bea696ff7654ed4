"""One HTTP client per process for every channel adapter.

``httpx.post`` builds a new client for each call, and with it a new TLS context (≈ 40 ms of CPU,
measured: a worker delivering webhooks spent 80 % of its time there) and a new connection. A shared
client keeps both: connections to a provider are reused across messages (keep-alive), and the client
is safe to use from several threads.
"""

from __future__ import annotations

import threading

import httpx

_client: httpx.Client | None = None
_lock = threading.Lock()


def client() -> httpx.Client:
    global _client  # noqa: PLW0603 - created on first use, once per process
    if _client is None:
        with _lock:
            if _client is None:
                _client = httpx.Client(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    return _client
