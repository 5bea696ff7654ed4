"""What resolving a review does: the effects the capabilities owning the subjects register (the
campaigns' credits are granted on approve, voided on reject), kept apart from the store of decisions
so that a capability can register without importing the review queue's SQL.

The modules that register are listed in :data:`EFFECT_MODULES` and imported before the first
resolution, so `siyu reviews approve` finds them without having imported the campaigns."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from siyu.growth.fraud_store import StoredDecision

ReviewEffect = Callable[[Connection, int, "StoredDecision", datetime], None]
ACTIONS = ("approve", "reject")  # siyu.growth.fraud_store.ReviewAction's values

# Modules whose import registers review effects. Each capability adds its own line.
EFFECT_MODULES: list[str] = [
    "siyu.growth.credits",
]

_EFFECTS: dict[tuple[str, str], list[ReviewEffect]] = {}
_imported = False


def _action(action: Any) -> str:
    value = str(action.value if hasattr(action, "value") else action)
    if value not in ACTIONS:
        raise ValueError(f"{action!r} is not a review action ({', '.join(ACTIONS)})")
    return value


def register_review_effect(action: Any, effect: ReviewEffect, *, subject_kind: str = "*") -> None:
    """Run ``effect(conn, workspace_id, decision, now)`` when a decision about ``subject_kind`` (``*``:
    any) is resolved with ``action``, inside the resolving transaction. Registering the same
    function twice is a no-op (modules may be imported more than once in tests)."""
    effects = _EFFECTS.setdefault((subject_kind, _action(action)), [])
    if effect not in effects:
        effects.append(effect)


def review_effect(action: Any, *, subject_kind: str = "*") -> Callable[[ReviewEffect], ReviewEffect]:
    """Decorator form of :func:`register_review_effect`."""
    def decorate(effect: ReviewEffect) -> ReviewEffect:
        register_review_effect(action, effect, subject_kind=subject_kind)
        return effect
    return decorate


def effects_for(subject_kind: str, action: Any) -> list[ReviewEffect]:
    """The effects for a resolution: those for this subject kind, then those for any kind."""
    global _imported
    if not _imported:
        for module in EFFECT_MODULES:
            importlib.import_module(module)
        _imported = True
    value = _action(action)
    return [*_EFFECTS.get((subject_kind, value), []), *_EFFECTS.get(("*", value), [])]


def unregister_review_effect(action: Any, effect: ReviewEffect, *, subject_kind: str = "*") -> None:
    """Remove an effect (tests register their own)."""
    effects = _EFFECTS.get((subject_kind, _action(action)), [])
    if effect in effects:
        effects.remove(effect)
