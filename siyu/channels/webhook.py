"""Webhook channel: HMAC-signed JSON POSTed to the brand's endpoint.

The signature follows Stripe's scheme, which integrators already know: header
``X-Siyu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>``;
receivers recompute it, compare in constant time and reject old timestamps. ``X-Siyu-Delivery`` is
the message's stable key: a receiver that dedupes on it sees each message once even when siyu
resends after a crash, which is why this adapter is idempotent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx
import orjson

from siyu.channels import http
from siyu.channels.base import ChannelError, Delivery


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: float = 300) -> bool:
    """The receiving side's check (also used by siyu's tests and the sandbox)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


@dataclass
class WebhookChannel:
    url: str
    secret: str
    timeout: float = 10.0
    idempotent: bool = True

    def send(self, delivery: Delivery) -> str | None:
        body = orjson.dumps({"id": delivery.key, "workspace_id": delivery.workspace_id,
                             "profile_id": delivery.profile_id, "purpose": delivery.purpose,
                             "payload": delivery.payload})
        headers = {"Content-Type": "application/json", "X-Siyu-Delivery": delivery.key,
                   "X-Siyu-Signature": signature(self.secret, int(time.time()), body)}
        try:
            response = http.client().post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise ChannelError("webhook.unreachable", f"{type(error).__name__}: {error}", retryable=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise ChannelError("webhook.unavailable", f"HTTP {response.status_code}", retryable=True)
        if response.status_code >= 300:
            raise ChannelError("webhook.refused", f"HTTP {response.status_code}: {response.text[:200]}",
                               retryable=False)
        return response.headers.get("X-Request-Id")
