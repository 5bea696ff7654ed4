"""Column types that behave the same on SQLite, PostgreSQL and DuckDB.

Timestamps are stored as integer milliseconds since the Unix epoch (UTC). That keeps range
comparisons, "within the last N days" filters and the columnar mirror identical on all three
engines (SQLite has no native timestamp type and would otherwise compare strings), and it is the
cheapest thing to bind on the hot ingest path. Python sees timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")


def to_millis(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class Timestamp(TypeDecorator[datetime]):
    """A UTC instant stored as epoch milliseconds (BIGINT)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int):
            return value
        return to_millis(value)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return from_millis(int(value))
