"""The one compiler from the segment language to SQLAlchemy Core, for every engine.

The output is a boolean expression over ``profiles`` (and correlated or set-based subqueries on
the other tables of :mod:`siyu.db.tables`), so the same tree runs on SQLite, on PostgreSQL and on
the DuckDB analytics engine, whose views carry the operational tables' names and columns. Every
leaf is NULL-free (a missing trait is "no match", never "unknown"), so ``not`` means "everyone
else" on all engines alike.

Event conditions are set-based — ``profiles.id IN (SELECT profile_id … GROUP BY … HAVING …)`` —
which is what a batch over a million profiles needs; when only a few profiles are evaluated (real
time, after an event) ``profile_ids`` narrows every subquery to them so the cost is per person;
they may be a list or a one-column SELECT of ids (the worker passes a single JSON / array
parameter, so that fifty definitions over a thousand people do not bind fifty thousand values).
A comparison that holds for a person with no matching events at all ("ordered fewer than 2
times", "spent under 100", "last order not within 90 days") also admits people absent from the
subquery, as an operator would expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select

from siyu.db.tables import (
    consents,
    events,
    identities,
    loyalty_members,
    profile_scores,
    profile_tags,
    profiles,
    segment_members,
    tags,
    tiers,
)
from siyu.identity.models import SCOPED_KINDS, IdentifierKind
from siyu.segments import comparisons
from siyu.segments.json_sql import json_bool, json_number, json_text
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

REVENUE = "revenue"


@dataclass(frozen=True)
class Context:
    workspace_id: int
    now: datetime
    profile_ids: Sequence[int] | Select[Any] | None = None  # evaluate only these (real time); None = everyone


def live(workspace_id: int) -> list[ColumnElement[bool]]:
    """Profiles that are people now: not merged away, not erased."""
    return [profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None), profiles.c.erased_at.is_(None)]


def live_profiles(ctx: Context) -> list[ColumnElement[bool]]:
    if ctx.profile_ids is None:
        return live(ctx.workspace_id)
    # A few people: look them up by primary key. ``workspace_id + 0`` is the same test written as an
    # expression, which SQLite's planner cannot serve from an index: without ANALYZE statistics it
    # guesses that ``workspace_id = ?`` on an index selects a handful of rows and walks the whole
    # workspace through it instead (measured: 5 ms per statement at 20k profiles, growing with them).
    return [(profiles.c.workspace_id + 0) == ctx.workspace_id, profiles.c.merged_into.is_(None),
            profiles.c.erased_at.is_(None), profiles.c.id.in_(_ids(ctx))]


def members_query(node: Node, ctx: Context):  # noqa: ANN201 - a Select of profile ids
    return select(profiles.c.id).where(*live_profiles(ctx), condition(node, ctx))


def count_query(node: Node, ctx: Context):  # noqa: ANN201
    return select(func.count()).select_from(profiles).where(*live_profiles(ctx), condition(node, ctx))


def condition(node: Node, ctx: Context) -> ColumnElement[bool]:
    match node:
        case All(nodes):
            return and_(*(condition(n, ctx) for n in nodes))
        case Any_(nodes):
            return or_(*(condition(n, ctx) for n in nodes))
        case Not(inner):
            return not_(condition(inner, ctx))
        case TraitCondition(key, comparison):
            return _trait(key, comparison, ctx)
        case TagCondition():
            return _tag(node, ctx)
        case IdentifierCondition():
            return _identifier(node, ctx)
        case ConsentCondition():
            return _consent(node, ctx)
        case EventCondition():
            return _event(node, ctx)
        case RollupCondition(rollup, comparison):
            column = profiles.c[rollup.value]
            if ROLLUP_KINDS[rollup] is ValueKind.DATE:
                return comparisons.date(column, comparison, ctx.now)
            return comparisons.null_false(comparisons.compare(column, comparison), comparison, column)
        case ScoreCondition(score, comparison):
            return _score(profile_scores.c[score.value], comparison, ctx)
        case SegmentCondition(segment_id, member):
            inside = select(segment_members.c.profile_id).where(
                segment_members.c.workspace_id == ctx.workspace_id, segment_members.c.segment_id == segment_id)
            inside = _narrow(inside, segment_members.c.profile_id, ctx)
            return profiles.c.id.in_(inside) if member else profiles.c.id.not_in(inside)
        case LoyaltyCondition():
            return _loyalty(node, ctx)
        case _:
            assert_never(node)


_NEGATIVE = {Op.NE: Op.EQ, Op.NOT_IN: Op.IN, Op.NOT_CONTAINS: Op.CONTAINS}


def _score(column: Any, comparison: Comparison, ctx: Context) -> ColumnElement[bool]:
    """Scored profiles that match; unscored people match only the negative operators, as traits do."""
    def scored(*clauses: ColumnElement[bool]) -> Any:
        rows = select(profile_scores.c.profile_id).where(
            profile_scores.c.workspace_id == ctx.workspace_id, column.is_not(None), *clauses)
        return _narrow(rows, profile_scores.c.profile_id, ctx)

    if comparison.op is Op.EXISTS:
        return profiles.c.id.in_(scored())
    if comparison.op is Op.NOT_EXISTS:
        return profiles.c.id.not_in(scored())
    if comparison.op in _NEGATIVE:
        positive = Comparison(_NEGATIVE[comparison.op], comparison.value)
        return profiles.c.id.not_in(scored(comparisons.compare(column, positive)))
    return profiles.c.id.in_(scored(comparisons.compare(column, comparison)))


def _loyalty(node: LoyaltyCondition, ctx: Context) -> ColumnElement[bool]:
    """Members whose tier, balance or growth matches; non-members match as unscored people do in
    :func:`_score`. Tier names become ranks through the workspace's ladder inside the statement: an
    unknown name is a NULL rank, which no member's rank compares true with."""
    column = loyalty_members.c[LOYALTY_COLUMNS[node.field]]
    comparison = node.comparison
    if node.field is LoyaltyField.TIER and comparison.op not in (Op.EXISTS, Op.NOT_EXISTS):
        comparison = Comparison(comparison.op, _ranks(comparison.value, ctx))

    def members(*clauses: ColumnElement[bool]) -> Any:
        rows = select(loyalty_members.c.profile_id).where(loyalty_members.c.workspace_id == ctx.workspace_id, *clauses)
        return _narrow(rows, loyalty_members.c.profile_id, ctx)

    if comparison.op is Op.EXISTS:
        return profiles.c.id.in_(members())
    if comparison.op is Op.NOT_EXISTS:
        return profiles.c.id.not_in(members())
    if comparison.op in _NEGATIVE:
        positive = Comparison(_NEGATIVE[comparison.op], comparison.value)
        return profiles.c.id.not_in(members(comparisons.compare(column, positive)))
    return profiles.c.id.in_(members(comparisons.compare(column, comparison)))


def _ranks(value: Any, ctx: Context) -> Any:
    """A tier value (name or rank, or a tuple of them) as rank expressions."""
    if isinstance(value, tuple):
        return tuple(_ranks(item, ctx) for item in value)
    if isinstance(value, str):
        return select(tiers.c.rank).where(tiers.c.workspace_id == ctx.workspace_id,
                                          tiers.c.name == value).scalar_subquery()
    return value


def _narrow(query: Any, column: Any, ctx: Context) -> Any:
    return query if ctx.profile_ids is None else query.where(column.in_(_ids(ctx)))


def _ids(ctx: Context) -> Any:
    return ctx.profile_ids if isinstance(ctx.profile_ids, Select) else list(ctx.profile_ids or ())


# --- leaves ------------------------------------------------------------------------------------

def _typed_json(column: Any, key: str, comparison: Comparison) -> tuple[Any, Comparison]:
    """Pick the accessor from the value: numbers compare with numbers, text with text."""
    value = comparison.value
    sample = value[0] if isinstance(value, tuple) and value else value
    if isinstance(sample, bool):
        return json_bool(column, key), Comparison(comparison.op, _bool_value(value))
    if isinstance(sample, int | float):
        return json_number(column, key), comparison
    if isinstance(sample, datetime | Ago | Duration):
        return json_text(column, key), comparison
    return json_text(column, key), comparison


def _bool_value(value: Any) -> Any:
    return tuple(bool(v) for v in value) if isinstance(value, tuple) else bool(value)


def _present(column: Any, key: str) -> ColumnElement[bool]:
    """The key holds a text, number or true/false (objects, lists and null count as absent)."""
    return or_(json_text(column, key).is_not(None), json_number(column, key).is_not(None),
               json_bool(column, key).is_not(None))


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def _json_date(expr: Any, comparison: Comparison, now: datetime) -> ColumnElement[bool]:
    """Date traits are ISO-8601 text ("1990-05-01" or a date-time); compared as text in UTC."""
    op, value = comparison.op, comparison.value
    if op is Op.BEFORE:
        holds = expr < _iso(comparisons.instant(value, now))
    elif op is Op.AFTER:
        holds = expr > _iso(comparisons.instant(value, now))
    elif op is Op.BETWEEN:
        holds = and_(expr >= _iso(comparisons.instant(value[0], now)), expr <= _iso(comparisons.instant(value[1], now)))
    elif op is Op.WITHIN_LAST:
        holds = expr >= _iso(now - value.delta())
    else:  # NOT_WITHIN_LAST: older, or no date at all
        return or_(expr.is_(None), expr < _iso(now - value.delta()))
    return and_(expr.is_not(None), holds)


def _value_condition(expr: Any, comparison: Comparison, now: datetime) -> ColumnElement[bool]:
    if comparison.op in (Op.BEFORE, Op.AFTER, Op.WITHIN_LAST, Op.NOT_WITHIN_LAST) or (
            comparison.op is Op.BETWEEN and isinstance(comparison.value[0], datetime | Ago)):
        return _json_date(expr, comparison, now)
    return comparisons.null_false(comparisons.compare(expr, comparison), comparison, expr)


def _trait(key: str, comparison: Comparison, ctx: Context) -> ColumnElement[bool]:
    if comparison.op in (Op.EXISTS, Op.NOT_EXISTS):
        present = _present(profiles.c.traits, key)
        return present if comparison.op is Op.EXISTS else not_(present)
    expr, comparison = _typed_json(profiles.c.traits, key, comparison)
    return _value_condition(expr, comparison, ctx.now)


def _tag_exists(names: Sequence[str], ctx: Context) -> ColumnElement[bool]:
    tagged = (select(profile_tags.c.profile_id)
              .join(tags, and_(tags.c.id == profile_tags.c.tag_id, tags.c.workspace_id == ctx.workspace_id))
              .where(profile_tags.c.workspace_id == ctx.workspace_id, tags.c.name.in_(list(names))))
    return profiles.c.id.in_(_narrow(tagged, profile_tags.c.profile_id, ctx))


def _tag(node: TagCondition, ctx: Context) -> ColumnElement[bool]:
    match node.op:
        case TagOp.HAS | TagOp.ANY_OF:
            return _tag_exists(node.names, ctx)
        case TagOp.HAS_NOT | TagOp.NONE_OF:
            return not_(_tag_exists(node.names, ctx))
        case TagOp.ALL_OF:
            return and_(*(_tag_exists([name], ctx) for name in node.names))
        case _:
            assert_never(node.op)


def _identifier(node: IdentifierCondition, ctx: Context) -> ColumnElement[bool]:
    kind, _, scope = node.type.partition(":")
    if IdentifierKind(kind) in SCOPED_KINDS and not scope:
        matches = func.substr(identities.c.type, 1, len(kind) + 1) == f"{kind}:"
    else:
        matches = identities.c.type == node.type
    owners = select(identities.c.profile_id).where(identities.c.workspace_id == ctx.workspace_id, matches)
    held = profiles.c.id.in_(_narrow(owners, identities.c.profile_id, ctx))
    return held if node.present else not_(held)


def _consent_rows(ctx: Context, channel: str, purpose: str, status: str) -> Any:
    rows = select(consents.c.profile_id).where(
        consents.c.workspace_id == ctx.workspace_id, consents.c.channel == channel,
        consents.c.purpose == purpose, consents.c.status == status)
    return _narrow(rows, consents.c.profile_id, ctx)


def _consent(node: ConsentCondition, ctx: Context) -> ColumnElement[bool]:
    """Granted for the channel, or granted for every channel ("any") and not revoked for this one."""
    own: ColumnElement[bool] = profiles.c.id.in_(_consent_rows(ctx, node.channel, node.purpose, "granted"))
    if node.channel != "any":
        blanket = and_(profiles.c.id.in_(_consent_rows(ctx, "any", node.purpose, "granted")),
                       profiles.c.id.not_in(_consent_rows(ctx, node.channel, node.purpose, "revoked")))
        own = or_(own, blanket)
    return own if node.granted else not_(own)


def _window_clauses(window: Window, now: datetime) -> list[ColumnElement[bool]]:
    if window.within is not None:
        return [events.c.timestamp >= now - window.within.delta(), events.c.timestamp <= now]
    if window.start is not None and window.end is not None:
        start, end = comparisons.instant(window.start, now), comparisons.instant(window.end, now)
        return [events.c.timestamp >= start, events.c.timestamp <= end]
    return []


def _property_value(name: str) -> Any:
    value: ColumnElement[Any] = json_number(events.c.properties, name)
    if name == REVENUE:  # Segment's e-commerce spec: revenue, with total accepted
        value = func.coalesce(value, json_number(events.c.properties, "total"))
    return value


def _holds_for_nobody(node: EventCondition) -> bool:
    """Does the comparison hold for a person with no matching event (count 0, sum 0, no date)?"""
    op, value = node.comparison.op, node.comparison.value
    if node.measure in (Measure.COUNT, Measure.SUM):
        match op:
            case Op.EQ | Op.IN:
                return 0 in (value if isinstance(value, tuple) else (value,))
            case Op.NE | Op.NOT_IN:
                return 0 not in (value if isinstance(value, tuple) else (value,))
            case Op.GT:
                return value < 0
            case Op.GTE:
                return value <= 0
            case Op.LT:
                return value > 0
            case Op.LTE:
                return value >= 0
            case Op.BETWEEN:
                return value[0] <= 0 <= value[1]
            case _:
                return False
    if node.measure in (Measure.FIRST, Measure.LAST):
        return op in (Op.NOT_WITHIN_LAST, Op.NOT_EXISTS)
    return op is Op.NOT_EXISTS  # avg of nothing is no value


def _event(node: EventCondition, ctx: Context) -> ColumnElement[bool]:
    clauses = [events.c.workspace_id == ctx.workspace_id, events.c.name == node.name,
               events.c.profile_id.is_not(None), *_window_clauses(node.window, ctx.now)]
    for item in node.where:
        expr, comparison = _typed_json(events.c.properties, item.property, item.comparison)
        clauses.append(_value_condition(expr, comparison, ctx.now))
    matching = _narrow(select(events.c.profile_id).where(*clauses), events.c.profile_id, ctx)
    aggregate: Any
    match node.measure:
        case Measure.COUNT:
            aggregate = func.count()
        case Measure.SUM:
            aggregate = func.coalesce(func.sum(_property_value(node.property or REVENUE)), 0)
        case Measure.AVG:
            aggregate = func.avg(_property_value(node.property or REVENUE))
        case Measure.FIRST:
            aggregate = func.min(events.c.timestamp)
        case Measure.LAST:
            aggregate = func.max(events.c.timestamp)
        case _:
            assert_never(node.measure)
    if node.measure in (Measure.FIRST, Measure.LAST):
        having = comparisons.date(aggregate, node.comparison, ctx.now)
    else:
        having = comparisons.null_false(comparisons.compare(aggregate, node.comparison), node.comparison, aggregate)
    if node.measure is Measure.COUNT and node.comparison == Comparison(Op.GTE, 1):
        satisfied: ColumnElement[bool] = profiles.c.id.in_(matching)  # "did": no grouping needed
    else:
        satisfied = profiles.c.id.in_(matching.group_by(events.c.profile_id).having(having))
    if _holds_for_nobody(node):
        return or_(satisfied, profiles.c.id.not_in(matching))
    return satisfied

