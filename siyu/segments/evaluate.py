"""The segment language evaluated in Python over one person's plain data.

The reference semantics, written for reading: tests generate people and definitions and check
that the SQL compiler (on SQLite, PostgreSQL and DuckDB) selects exactly the people this
evaluator accepts. Where SQL's NULL rules shape the answer (a missing trait, an average over no
numbers), this module spells the same rule out, so a disagreement is a bug in one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never

from siyu.identity.models import SCOPED_KINDS, IdentifierKind
from siyu.segments.compile import REVENUE
from siyu.segments.models import (
    LOYALTY_COLUMNS,
    ROLLUP_KINDS,
    Ago,
    All,
    Any_,
    Comparison,
    ConsentCondition,
    Duration,
    EventCondition,
    IdentifierCondition,
    LoyaltyCondition,
    LoyaltyField,
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
    ValueKind,
    Window,
)


@dataclass(frozen=True)
class Occurrence:
    name: str
    timestamp: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Person:
    traits: Mapping[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    identity_types: frozenset[str] = frozenset()
    consents: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (channel, purpose) -> status
    events: Sequence[Occurrence] = ()
    rollups: Mapping[str, Any] = field(default_factory=dict)
    scores: Mapping[str, Any] = field(default_factory=dict)
    segments: frozenset[int] = frozenset()
    loyalty: Mapping[str, int] = field(default_factory=dict)  # tier_rank, points_balance, growth_value; {} = no member
    tier_ranks: Mapping[str, int] = field(default_factory=dict)  # the workspace's ladder: name -> rank


def matches(node: Node, person: Person, now: datetime) -> bool:
    match node:
        case All(nodes):
            return all(matches(n, person, now) for n in nodes)
        case Any_(nodes):
            return any(matches(n, person, now) for n in nodes)
        case Not(inner):
            return not matches(inner, person, now)
        case TraitCondition(key, comparison):
            return _json_value(person.traits, key, comparison, now)
        case TagCondition(op, names):
            held = person.tags & set(names)
            match op:
                case TagOp.HAS | TagOp.ANY_OF:
                    return bool(held)
                case TagOp.HAS_NOT | TagOp.NONE_OF:
                    return not held
                case TagOp.ALL_OF:
                    return held == set(names)
                case _:
                    assert_never(op)
        case IdentifierCondition(type_, present):
            kind, _, scope = type_.partition(":")
            if IdentifierKind(kind) in SCOPED_KINDS and not scope:
                found = any(t.startswith(f"{kind}:") for t in person.identity_types)
            else:
                found = type_ in person.identity_types
            return found == present
        case ConsentCondition(channel, purpose, granted):
            own = person.consents.get((channel, purpose)) == "granted"
            if channel != "any":
                own = own or (person.consents.get(("any", purpose)) == "granted"
                              and person.consents.get((channel, purpose)) != "revoked")
            return own == granted
        case EventCondition():
            return _event(node, person, now)
        case RollupCondition(rollup, comparison):
            value = person.rollups.get(rollup.value)
            if ROLLUP_KINDS[rollup] is ValueKind.DATE:
                return _date(value, comparison, now)
            return _compare_or_missing(value, comparison)
        case ScoreCondition(score, comparison):
            return _compare_or_missing(person.scores.get(score.value), comparison)
        case SegmentCondition(segment_id, member):
            return (segment_id in person.segments) == member
        case LoyaltyCondition(loyalty_field, comparison):
            value = person.loyalty.get(LOYALTY_COLUMNS[loyalty_field])
            if loyalty_field is LoyaltyField.TIER and comparison.op not in (Op.EXISTS, Op.NOT_EXISTS):
                return _tier(value, comparison, person.tier_ranks)
            return _compare_or_missing(value, comparison)
        case _:
            assert_never(node)


def _tier(rank: int | None, comparison: Comparison, ladder: Mapping[str, int]) -> bool:
    """A tier comparison with names looked up in the ladder; an unknown name is a rank no member has
    (SQL's NULL): no comparison with it holds, so ``ne`` / ``not_in`` hold for everyone."""
    def resolved(value: Any) -> int | None:
        return ladder.get(value) if isinstance(value, str) else value

    op, target = comparison.op, comparison.value
    if op in (Op.NE, Op.NOT_IN):
        positive = Comparison(Op.EQ if op is Op.NE else Op.IN, target)
        return not _tier(rank, positive, ladder)
    if rank is None:
        return False
    if isinstance(target, tuple):
        ranks = tuple(resolved(v) for v in target)
        if op is Op.BETWEEN:
            return None not in ranks and _compare(rank, Comparison(op, ranks))
        return rank in {r for r in ranks if r is not None}
    value = resolved(target)
    return value is not None and _compare(rank, Comparison(op, value))


def _instant(value: datetime | Ago, now: datetime) -> datetime:
    return value.resolve(now) if isinstance(value, Ago) else value


def _compare(value: Any, comparison: Comparison) -> bool:
    op, target = comparison.op, comparison.value
    match op:
        case Op.EQ:
            return bool(value == target)
        case Op.NE:
            return bool(value != target)
        case Op.GT:
            return bool(value > target)
        case Op.GTE:
            return bool(value >= target)
        case Op.LT:
            return bool(value < target)
        case Op.LTE:
            return bool(value <= target)
        case Op.BETWEEN:
            return bool(target[0] <= value <= target[1])
        case Op.IN:
            return value in target
        case Op.NOT_IN:
            return value not in target
        case Op.CONTAINS:
            return target in value
        case Op.NOT_CONTAINS:
            return target not in value
        case Op.STARTS_WITH:
            return bool(value.startswith(target))
        case Op.EXISTS | Op.NOT_EXISTS | Op.BEFORE | Op.AFTER | Op.WITHIN_LAST | Op.NOT_WITHIN_LAST:
            raise AssertionError(f"{op} is not a value comparison")
        case _:
            assert_never(op)


def _compare_or_missing(value: Any, comparison: Comparison) -> bool:
    if comparison.op is Op.EXISTS:
        return value is not None
    if comparison.op is Op.NOT_EXISTS:
        return value is None
    if value is None:
        return comparison.op in (Op.NE, Op.NOT_IN, Op.NOT_CONTAINS)
    return _compare(value, comparison)


def _date(value: datetime | None, comparison: Comparison, now: datetime) -> bool:
    op, target = comparison.op, comparison.value
    if op is Op.NOT_EXISTS:
        return value is None
    if op is Op.NOT_WITHIN_LAST:
        return value is None or value < now - target.delta()
    if value is None:
        return False
    match op:
        case Op.EXISTS:
            return True
        case Op.BEFORE:
            return value < _instant(target, now)
        case Op.AFTER:
            return value > _instant(target, now)
        case Op.BETWEEN:
            return _instant(target[0], now) <= value <= _instant(target[1], now)
        case Op.WITHIN_LAST:
            return value >= now - target.delta()
        case _:
            raise AssertionError(f"{op} on a date")


def _typed(raw: Any, sample: Any) -> Any:
    """The JSON value if its type is the one the comparison asks for, else None (as in SQL)."""
    if isinstance(sample, bool):
        return raw if isinstance(raw, bool) else None
    if isinstance(sample, int | float):
        return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    return raw if isinstance(raw, str) else None


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _json_value(data: Mapping[str, Any], key: str, comparison: Comparison, now: datetime) -> bool:
    raw = data.get(key)
    op, target = comparison.op, comparison.value
    if op in (Op.EXISTS, Op.NOT_EXISTS):
        present = isinstance(raw, str | int | float)  # bool is an int
        return present if op is Op.EXISTS else not present
    sample = target[0] if isinstance(target, tuple) and target else target
    if op in (Op.BEFORE, Op.AFTER, Op.WITHIN_LAST, Op.NOT_WITHIN_LAST) or (
            op is Op.BETWEEN and isinstance(sample, datetime | Ago)):
        text = raw if isinstance(raw, str) else None
        if op is Op.NOT_WITHIN_LAST:
            return text is None or text < _iso(now - target.delta())
        if text is None:
            return False
        if op is Op.BEFORE:
            return text < _iso(_instant(target, now))
        if op is Op.AFTER:
            return text > _iso(_instant(target, now))
        if op is Op.WITHIN_LAST:
            return text >= _iso(now - target.delta())
        return _iso(_instant(target[0], now)) <= text <= _iso(_instant(target[1], now))
    if isinstance(sample, Duration):
        raise AssertionError("durations only go with within_last")
    return _compare_or_missing(_typed(raw, sample), comparison)


def _in_window(when: datetime, window: Window, now: datetime) -> bool:
    if window.within is not None:
        return now - window.within.delta() <= when <= now
    if window.start is not None and window.end is not None:
        return _instant(window.start, now) <= when <= _instant(window.end, now)
    return True


def _number(properties: Mapping[str, Any], name: str) -> float | None:
    value = _typed(properties.get(name), 0)
    if value is None and name == REVENUE:
        value = _typed(properties.get("total"), 0)
    return value


def _event(node: EventCondition, person: Person, now: datetime) -> bool:
    chosen = [e for e in person.events if e.name == node.name and _in_window(e.timestamp, node.window, now)
              and all(_json_value(e.properties, f.property, f.comparison, now) for f in node.where)]
    comparison = node.comparison
    match node.measure:
        case Measure.COUNT:
            return _compare_or_missing(len(chosen), comparison)
        case Measure.SUM:
            numbers = [n for e in chosen if (n := _number(e.properties, node.property or REVENUE)) is not None]
            return _compare_or_missing(sum(numbers) if chosen else 0, comparison)
        case Measure.AVG:
            if not chosen:
                return comparison.op is Op.NOT_EXISTS
            numbers = [n for e in chosen if (n := _number(e.properties, node.property or REVENUE)) is not None]
            return _compare_or_missing(sum(numbers) / len(numbers) if numbers else None, comparison)
        case Measure.FIRST | Measure.LAST:
            times = [e.timestamp for e in chosen]
            when = (min(times) if node.measure is Measure.FIRST else max(times)) if times else None
            return _date(when, comparison, now)
        case _:
            assert_never(node.measure)
