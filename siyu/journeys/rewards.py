"""The call point for "give coupon" and "give points" steps: a registry of reward providers.

Coupons (siyu.offers) and points (siyu.loyalty) are later capabilities; each registers a provider
for its kind here when it is imported. A provider gives the reward inside the journey's
transaction, idempotently on the key it is handed (the step's key for this entry), and returns an
outcome code for the step's figures. With no provider for a kind, the step records
``reward.unavailable`` and the person goes on: a journey is never stuck on a missing capability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

UNAVAILABLE = "reward.unavailable"


@dataclass(frozen=True)
class RewardRequest:
    workspace_id: int
    profile_id: int
    kind: str  # coupon | points
    params: dict[str, Any]  # as written in the step: {"offer": "WELCOME10"}, {"amount": 100}
    key: str  # journey:<id>:<version>:<step>:<entry>: give at most once per key
    now: datetime


# (connection, request) -> outcome code, e.g. "reward.given", "reward.out_of_stock"
RewardProvider = Callable[[Connection, RewardRequest], str]
_PROVIDERS: dict[str, RewardProvider] = {}


def register(kind: str, provider: RewardProvider) -> None:
    _PROVIDERS[kind] = provider


def unregister(kind: str) -> None:
    _PROVIDERS.pop(kind, None)


def give(conn: Connection, request: RewardRequest) -> str:
    provider = _PROVIDERS.get(request.kind)
    if provider is None:
        return UNAVAILABLE
    return provider(conn, request)
