"""Write the typed tree back as the canonical JSON that is stored and shown (the inverse of parse)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never

from siyu.segments.models import (
    Ago,
    All,
    Any_,
    Comparison,
    ConsentCondition,
    Duration,
    EventCondition,
    IdentifierCondition,
    LoyaltyCondition,
    Measure,
    Node,
    Not,
    Op,
    RollupCondition,
    ScoreCondition,
    SegmentCondition,
    TagCondition,
    TagOp,
    TraitCondition,
    Window,
)


def _value(value: Any) -> Any:
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, Ago):
        return {"ago": str(value.duration)}
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple):
        return [_value(item) for item in value]
    return value


def _comparison(comparison: Comparison) -> dict[str, Any]:
    out: dict[str, Any] = {"op": comparison.op.value}
    if comparison.op not in (Op.EXISTS, Op.NOT_EXISTS):
        out["value"] = _value(comparison.value)
    return out


def _window(window: Window) -> dict[str, Any]:
    if window.within is not None:
        return {"within": str(window.within)}
    if window.start is not None:
        return {"between": [_value(window.start), _value(window.end)]}
    return {}


def dump(node: Node) -> dict[str, Any]:
    match node:
        case All(nodes):
            return {"all": [dump(n) for n in nodes]}
        case Any_(nodes):
            return {"any": [dump(n) for n in nodes]}
        case Not(inner):
            return {"not": dump(inner)}
        case TraitCondition(key, comparison):
            return {"trait": key, **_comparison(comparison)}
        case TagCondition(op, names):
            single = op in (TagOp.HAS, TagOp.HAS_NOT)
            return {"tag": names[0] if single else list(names), "op": op.value}
        case IdentifierCondition(type_, present):
            return {"identifier": type_, "op": "exists" if present else "not_exists"}
        case ConsentCondition(channel, purpose, granted):
            return {"consent": channel, "purpose": purpose, "op": "granted" if granted else "not_granted"}
        case EventCondition(name, measure, comparison, prop, window, where):
            out: dict[str, Any] = {"event": name, "measure": measure.value}
            if measure in (Measure.SUM, Measure.AVG):
                out["property"] = prop
            out.update(_comparison(comparison))
            out.update(_window(window))
            if where:
                out["where"] = [{"property": f.property, **_comparison(f.comparison)} for f in where]
            return out
        case RollupCondition(rollup, comparison):
            return {"rollup": rollup.value, **_comparison(comparison)}
        case ScoreCondition(score, comparison):
            return {"score": score.value, **_comparison(comparison)}
        case SegmentCondition(segment_id, member):
            return {"segment": segment_id, "op": "member" if member else "not_member"}
        case LoyaltyCondition(field, comparison):
            return {"loyalty": field.value, **_comparison(comparison)}
        case _:
            assert_never(node)


def referenced_segments(node: Node) -> set[int]:
    """Ids of the saved segments a definition depends on (to refuse cycles and order refreshes)."""
    match node:
        case All(nodes) | Any_(nodes):
            return set().union(*(referenced_segments(n) for n in nodes))
        case Not(inner):
            return referenced_segments(inner)
        case SegmentCondition(segment_id, _):
            return {segment_id}
        case _:
            return set()


def referenced_events(node: Node) -> set[str]:
    """Event names a definition reads: an incoming event of another name cannot change it."""
    match node:
        case All(nodes) | Any_(nodes):
            return set().union(*(referenced_events(n) for n in nodes))
        case Not(inner):
            return referenced_events(inner)
        case EventCondition(name=name):
            return {name}
        case _:
            return set()


def referenced_tiers(node: Node) -> set[str]:
    """Tier names a definition compares with (to check that the workspace's ladder has them)."""
    match node:
        case All(nodes) | Any_(nodes):
            return set().union(*(referenced_tiers(n) for n in nodes))
        case Not(inner):
            return referenced_tiers(inner)
        case LoyaltyCondition(comparison=comparison):
            value = comparison.value
            return {v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, str)}
        case _:
            return set()
