"""Typed reads of one key of a JSON column that answer alike on SQLite, PostgreSQL and DuckDB.

Traits and event properties are schemaless JSON, so a segment that compares ``age >= 30`` meets
profiles whose ``age`` is ``"thirty"``. Casting blindly would be an error on PostgreSQL and a
silent text-versus-number comparison on SQLite (where any text sorts above any number); both
would make the engines disagree. Each accessor therefore yields a value only when the JSON value
has the matching type and NULL otherwise, and comparisons treat NULL as "does not match".
Text comparisons use ``instr``/``strpos`` instead of LIKE, whose case rules differ between engines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, String, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class _JsonKey(FunctionElement[Any]):
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], key: str) -> None:
        super().__init__(column, bindparam(None, key, String))


class json_text(_JsonKey):  # noqa: N801 - reads like the SQL function it renders
    type = String()
    name = "json_text"
    inherit_cache = True


class json_number(_JsonKey):  # noqa: N801
    type = Float()
    name = "json_number"
    inherit_cache = True


class json_bool(_JsonKey):  # noqa: N801
    type = Boolean()
    name = "json_bool"
    inherit_cache = True


class text_contains(FunctionElement[bool]):  # noqa: N801
    type = Boolean()
    name = "text_contains"
    inherit_cache = True


def _parts(element: _JsonKey, compiler: Any, **kw: Any) -> tuple[str, str, str]:
    """(column, JSON path built in SQL from the key, key): one bound parameter for the key, used by
    every engine (DuckDB refuses a statement with a parameter it does not use)."""
    column, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return column, f"('$.\"' || {key} || '\"')", key


@compiles(json_text)
def _json_text_sqlite(element: json_text, compiler: Any, **kw: Any) -> str:
    column, path, _ = _parts(element, compiler, **kw)
    return f"(CASE WHEN json_type({column}, {path}) = 'text' THEN json_extract({column}, {path}) END)"


@compiles(json_number)
def _json_number_sqlite(element: json_number, compiler: Any, **kw: Any) -> str:
    column, path, _ = _parts(element, compiler, **kw)
    return (f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real') "
            f"THEN CAST(json_extract({column}, {path}) AS REAL) END)")


@compiles(json_bool)
def _json_bool_sqlite(element: json_bool, compiler: Any, **kw: Any) -> str:
    column, path, _ = _parts(element, compiler, **kw)
    return (f"(CASE json_type({column}, {path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)")


@compiles(text_contains)
def _contains_sqlite(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({haystack}, {needle}) > 0)"


@compiles(json_text, "postgresql")
def _json_text_pg(element: json_text, compiler: Any, **kw: Any) -> str:
    column, _, key = _parts(element, compiler, **kw)
    return f"(CASE WHEN jsonb_typeof({column} -> {key}) = 'string' THEN {column} ->> {key} END)"


@compiles(json_number, "postgresql")
def _json_number_pg(element: json_number, compiler: Any, **kw: Any) -> str:
    column, _, key = _parts(element, compiler, **kw)
    return (f"(CASE WHEN jsonb_typeof({column} -> {key}) = 'number' "
            f"THEN CAST({column} ->> {key} AS DOUBLE PRECISION) END)")


@compiles(json_bool, "postgresql")
def _json_bool_pg(element: json_bool, compiler: Any, **kw: Any) -> str:
    column, _, key = _parts(element, compiler, **kw)
    return f"(CASE WHEN jsonb_typeof({column} -> {key}) = 'boolean' THEN CAST({column} ->> {key} AS BOOLEAN) END)"


@compiles(text_contains, "postgresql")
def _contains_pg(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"


# DuckDB (duckdb_engine) keeps JSON as text in the columnar mirror; json_type names DuckDB types.
@compiles(json_text, "duckdb")
def _json_text_duckdb(element: json_text, compiler: Any, **kw: Any) -> str:
    column, path, _ = _parts(element, compiler, **kw)
    return f"(CASE WHEN json_type({column}, {path}) = 'VARCHAR' THEN json_extract_string({column}, {path}) END)"


@compiles(json_number, "duckdb")
def _json_number_duckdb(element: json_number, compiler: Any, **kw: Any) -> str:
    column, path, _ = _parts(element, compiler, **kw)
    return (f"(CASE WHEN json_type({column}, {path}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
            f"THEN CAST(json_extract_string({column}, {path}) AS DOUBLE) END)")


@compiles(json_bool, "duckdb")
def _json_bool_duckdb(element: json_bool, compiler: Any, **kw: Any) -> str:
    column, path, _ = _parts(element, compiler, **kw)
    return (f"(CASE WHEN json_type({column}, {path}) = 'BOOLEAN' "
            f"THEN CAST(json_extract_string({column}, {path}) AS BOOLEAN) END)")


@compiles(text_contains, "duckdb")
def _contains_duckdb(element: text_contains, compiler: Any, **kw: Any) -> str:
    haystack, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos({haystack}, {needle}) > 0)"
