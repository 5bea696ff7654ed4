"""A segment comparison as SQL: the operators on numbers and text, on date columns, and what a missing
value matches. The compiler (:mod:`siyu.segments.compile`) applies them to traits, rollups, scores,
loyalty columns and event aggregates alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import ColumnElement, and_, func, literal, not_, or_

from siyu.segments.json_sql import text_contains
from siyu.segments.models import Ago, Comparison, Op


def instant(value: datetime | Ago, now: datetime) -> datetime:
    return value.resolve(now) if isinstance(value, Ago) else value


def compare(expr: Any, comparison: Comparison) -> ColumnElement[bool]:
    """Numbers and text; the caller makes the result NULL-free."""
    op, value = comparison.op, comparison.value
    match op:
        case Op.EQ:
            return expr == value
        case Op.NE:
            return expr != value
        case Op.GT:
            return expr > value
        case Op.GTE:
            return expr >= value
        case Op.LT:
            return expr < value
        case Op.LTE:
            return expr <= value
        case Op.BETWEEN:
            return and_(expr >= value[0], expr <= value[1])
        case Op.IN:
            return expr.in_(uniform(value))
        case Op.NOT_IN:
            return expr.not_in(uniform(value))
        case Op.CONTAINS:
            return text_contains(expr, literal(value))
        case Op.NOT_CONTAINS:
            return not_(text_contains(expr, literal(value)))
        case Op.STARTS_WITH:
            return func.substr(expr, 1, len(value)) == value
        case Op.EXISTS:
            return expr.is_not(None)
        case Op.NOT_EXISTS:
            return expr.is_(None)
        case Op.BEFORE | Op.AFTER | Op.WITHIN_LAST | Op.NOT_WITHIN_LAST:
            raise AssertionError(f"date operator {op} reached the value comparison")
        case _:
            assert_never(op)


def uniform(values: tuple[Any, ...]) -> list[Any]:
    """SQLAlchemy types an IN list by its first value: [1, 0.5] would bind 0.5 as an integer."""
    if any(isinstance(v, float) for v in values):
        return [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values]
    return list(values)


def null_false(holds: ColumnElement[bool], comparison: Comparison, expr: Any) -> ColumnElement[bool]:
    """Missing values match only "not_exists" (and the negative operators, which an operator reads
    as "is not X": a person with no city is not in Shanghai)."""
    if comparison.op in (Op.EXISTS, Op.NOT_EXISTS):
        return holds
    if comparison.op in (Op.NE, Op.NOT_IN, Op.NOT_CONTAINS):
        return or_(expr.is_(None), and_(expr.is_not(None), holds))
    return and_(expr.is_not(None), holds)


def date(column: Any, comparison: Comparison, now: datetime) -> ColumnElement[bool]:
    """A date column (epoch milliseconds): relative windows resolve against ``now``."""
    op, value = comparison.op, comparison.value
    if op is Op.BEFORE:
        return and_(column.is_not(None), column < instant(value, now))
    if op is Op.AFTER:
        return and_(column.is_not(None), column > instant(value, now))
    if op is Op.BETWEEN:
        return and_(column.is_not(None), column >= instant(value[0], now), column <= instant(value[1], now))
    if op is Op.WITHIN_LAST:
        return and_(column.is_not(None), column >= now - value.delta())
    if op is Op.NOT_WITHIN_LAST:
        return or_(column.is_(None), column < now - value.delta())
    if op is Op.EXISTS:
        return column.is_not(None)
    if op is Op.NOT_EXISTS:
        return column.is_(None)
    raise AssertionError(f"{op} on a date column passed validation")
