"""The call point for "give coupon" and "give points" steps: a registry of reward providers.

Coupons (siyu.offers) and points (siyu.loyalty) are later capabilities; each registers a provider
for its kind here when its module is imported. Nothing may depend on who imported that module first
(a CLI command or a worker that never touches loyalty would otherwise find no ``points``), so the
registry knows which module provides each known kind (:data:`PROVIDER_MODULES`) and imports it the
first time that kind is asked for. The import happens at lookup, never when this module loads: the
provider modules import this one, and loading them from here at import time would be a cycle.

A provider gives the reward inside the journey's transaction, idempotently on the key it is handed
(the step's key for this entry), and returns an outcome code for the step's figures. With no
provider for a kind, the step records ``reward.unavailable`` and the person goes on: a journey is
never stuck on a missing capability.
"""

from __future__ import annotations

import importlib
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
# The module that registers each known kind when imported (a test holds this table to the kinds steps offer).
PROVIDER_MODULES = {"points": "siyu.loyalty.journey_rewards", "coupon": "siyu.offers.journey_rewards"}
_PROVIDERS: dict[str, RewardProvider] = {}
_LOOKED_UP: set[str] = set()  # known kinds whose module was imported here (or that were unregistered)


def register(kind: str, provider: RewardProvider) -> None:
    _PROVIDERS[kind] = provider


def unregister(kind: str) -> None:
    """Remove the kind's provider, for good: its module is not imported again to bring it back."""
    _LOOKED_UP.add(kind)
    _PROVIDERS.pop(kind, None)


def provider(kind: str) -> RewardProvider | None:
    """The kind's provider, importing its module (:data:`PROVIDER_MODULES`) the first time it is asked
    for; None for a kind nobody provides.

    Concurrency: two threads asking at once may both call ``import_module``; Python's per-module
    import lock runs the module once and makes the second wait for it, and registering is one dict
    assignment, so both find the provider."""
    found = _PROVIDERS.get(kind)
    if found is None and kind in PROVIDER_MODULES and kind not in _LOOKED_UP:
        importlib.import_module(PROVIDER_MODULES[kind])
        _LOOKED_UP.add(kind)
        found = _PROVIDERS.get(kind)
    return found


def give(conn: Connection, request: RewardRequest) -> str:
    found = provider(request.kind)
    if found is None:
        return UNAVAILABLE
    return found(conn, request)
