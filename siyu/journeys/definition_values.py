"""Small readers of journey-definition values (durations, local times, names, event filters), each
raising :class:`~siyu.journeys.errors.InvalidJourney` with the path, the step and the reason."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

from siyu.journeys.errors import InvalidJourney
from siyu.journeys.models import EventMatch
from siyu.segments.errors import InvalidDefinition
from siyu.segments.models import EventCondition
from siyu.segments.parse import parse as parse_segment

_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def only(raw: dict[str, Any], allowed: set[str], path: str, step: str | None = None) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidJourney(f"{path}.{unknown[0]}" if path != "$" else unknown[0],
                             f"unknown field; allowed: {', '.join(sorted(allowed))}", step=step)


def duration(raw: Any, path: str, step: str | None = None) -> timedelta:
    match = _DURATION.match(raw) if isinstance(raw, str) else None
    if not match or int(match.group(1)) == 0:
        raise InvalidJourney(path, f"expected a duration such as \"30m\", \"12h\", \"3d\" or \"2w\" (\"s\": "
                             f"seconds); got {raw!r}", step=step)
    return _UNITS[match.group(2)] * int(match.group(1))


def local_time(raw: Any, path: str, step: str | None = None) -> time:
    try:
        if isinstance(raw, str) and re.fullmatch(r"\d{1,2}:\d{2}", raw.strip()):
            hours, minutes = raw.strip().split(":")
            return time(int(hours), int(minutes))
    except ValueError:
        pass
    hint = " (YAML reads an unquoted 10:00 as the number 600: quote it)" if isinstance(raw, int) else ""
    raise InvalidJourney(path, f"expected a local time of day such as \"10:00\"; got {raw!r}{hint}", step=step)


def text(raw: Any, path: str, what: str, step: str | None = None, limit: int = 200) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > limit or any(ord(c) < 32 for c in raw):
        raise InvalidJourney(path, f"expected {what} (1-{limit} characters, no control characters); "
                             f"got {type_name(raw)}", step=step)
    return raw


def an_object(raw: Any, path: str, what: str, step: str | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidJourney(path, f"expected {what} (an object); got {type_name(raw)}", step=step)
    return raw


def segment_id(raw: Any, path: str, step: str | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise InvalidJourney(path, f"expected a saved segment's id; got {raw!r}", step=step)
    return raw


def rerooted(error: InvalidDefinition, path: str, step: str | None) -> InvalidJourney:
    """A segment-language refusal with its ``$`` path moved under the journey's path."""
    if "path" not in error.details:  # a check against the workspace (an unknown segment): its message says it all
        return InvalidJourney(path, error.message, step=step)
    return InvalidJourney(path + str(error.details["path"])[1:], str(error.details["reason"]), step=step)


def event_match(raw: dict[str, Any], path: str, step: str | None = None,
                extra: frozenset[str] = frozenset()) -> EventMatch:
    """``{"event": name, "where": [property filters]}``: the segment language's event node."""
    only(raw, {"event", "where"} | extra, path, step)
    name = text(raw.get("event"), f"{path}.event", "an event name", step)
    node: dict[str, Any] = {"event": name}
    if "where" in raw:
        node["where"] = raw["where"]
    try:
        condition = parse_segment(node)
    except InvalidDefinition as error:
        raise rerooted(error, path, step) from None
    assert isinstance(condition, EventCondition)
    return EventMatch(name, condition)


