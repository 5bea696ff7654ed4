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


# One template per (engine, accessor). {c} is the JSON column, {k} the bound key and {p} the JSON path
# built from it in SQL ('$."key"'): one bound parameter, used by every engine (DuckDB refuses a
# statement with a parameter it does not use). DuckDB keeps JSON as text in the columnar mirror and
# its json_type names DuckDB types; SQLite's names JSON types; PostgreSQL reads JSONB by key.
SQL: dict[str, dict[str, str]] = {
    "sqlite": {
        "json_text": "CASE WHEN json_type({c}, {p}) = 'text' THEN json_extract({c}, {p}) END",
        "json_number": "CASE WHEN json_type({c}, {p}) IN ('integer', 'real') "
                       "THEN CAST(json_extract({c}, {p}) AS REAL) END",
        "json_bool": "CASE json_type({c}, {p}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END",
        "text_contains": "instr({c}, {k}) > 0",
    },
    "postgresql": {
        "json_text": "CASE WHEN jsonb_typeof({c} -> {k}) = 'string' THEN {c} ->> {k} END",
        "json_number": "CASE WHEN jsonb_typeof({c} -> {k}) = 'number' THEN CAST({c} ->> {k} AS DOUBLE PRECISION) END",
        "json_bool": "CASE WHEN jsonb_typeof({c} -> {k}) = 'boolean' THEN CAST({c} ->> {k} AS BOOLEAN) END",
        "text_contains": "strpos({c}, {k}) > 0",
    },
    "duckdb": {
        "json_text": "CASE WHEN json_type({c}, {p}) = 'VARCHAR' THEN json_extract_string({c}, {p}) END",
        "json_number": "CASE WHEN json_type({c}, {p}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
                       "THEN CAST(json_extract_string({c}, {p}) AS DOUBLE) END",
        "json_bool": "CASE WHEN json_type({c}, {p}) = 'BOOLEAN' "
                     "THEN CAST(json_extract_string({c}, {p}) AS BOOLEAN) END",
        "text_contains": "strpos({c}, {k}) > 0",
    },
}


@compiles(json_text)
@compiles(json_number)
@compiles(json_bool)
@compiles(text_contains)
def _render(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    column, key = (compiler.process(clause, **kw) for clause in element.clauses)
    template = SQL.get(compiler.dialect.name, SQL["sqlite"])[element.name]
    return "(" + template.format(c=column, k=key, p=f"('$.\"' || {key} || '\"')") + ")"
