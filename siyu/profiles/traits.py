"""Typed traits with the time and source of their last update.

Last write wins by *event* time, not arrival time: a late identify from a phone that was offline
does not overwrite what a newer call already said. Each trait keeps its inferred type so segments
can compare numbers as numbers and dates as dates.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class TraitType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ARRAY = "array"
    OBJECT = "object"
    NULL = "null"


def trait_type(value: Any) -> TraitType:
    if value is None:
        return TraitType.NULL
    if isinstance(value, bool):
        return TraitType.BOOLEAN
    if isinstance(value, int | float):
        return TraitType.NUMBER
    if isinstance(value, list):
        return TraitType.ARRAY
    if isinstance(value, dict):
        return TraitType.OBJECT
    if isinstance(value, str) and _DATE.match(value):
        return TraitType.DATETIME
    return TraitType.STRING


def apply_traits(traits: dict[str, Any], meta: dict[str, Any], incoming: dict[str, Any], at: datetime,
                 source: str) -> bool:
    """Write ``incoming`` into ``traits``/``meta`` in place; return whether anything changed."""
    return apply_stamped_traits(traits, meta, incoming, at.isoformat(), source)


def apply_stamped_traits(traits: dict[str, Any], meta: dict[str, Any], incoming: dict[str, Any], stamp: str,
                         source: str) -> bool:
    """:func:`apply_traits` with the event time already written as ``at.isoformat()`` (the bulk
    import's converter writes it once per row, in its own process)."""
    changed = False
    for key, value in incoming.items():
        if not isinstance(key, str) or not key or len(key) > 200:
            continue
        previous = meta.get(key)
        if previous is not None and previous.get("updated_at", "") > stamp:
            continue  # a newer event already set this trait
        if traits.get(key) != value or previous is None:
            changed = True
        traits[key] = value
        meta[key] = {"type": trait_type(value).value, "updated_at": stamp, "source": source}
    return changed


def merge_traits(into: tuple[dict[str, Any], dict[str, Any]], other: tuple[dict[str, Any], dict[str, Any]]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Combine two profiles' traits: for each key the value set by the later event wins."""
    traits, meta = dict(into[0]), dict(into[1])
    for key, value in other[0].items():
        theirs = other[1].get(key, {})
        ours = meta.get(key)
        if ours is None or theirs.get("updated_at", "") > ours.get("updated_at", ""):
            traits[key] = value
            meta[key] = theirs
    return traits, meta
