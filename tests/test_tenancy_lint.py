"""Tenancy is mechanical: every function in a ``store.py`` that builds SQL must scope it by
``workspace_id``, or say why not with a ``# tenancy: cross-workspace (reason)`` comment.

A small AST check in the spirit of polar's ``org_scope.py`` linter: cheap, and it fails the build
the day someone writes an unscoped query.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "siyu"
SQL_CALLS = {"select", "update", "delete", "insert", "exec_driver_sql", "text", "execute"}
ESCAPE = "tenancy: cross-workspace"


def _store_modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*store.py"))


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            target = child.func
            names.add(target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", ""))
    return names


def unscoped_functions(source: str, label: str) -> list[str]:
    tree = ast.parse(source)
    lines = source.splitlines()
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        if not (_calls(node) & SQL_CALLS):
            continue
        body = "\n".join(lines[node.lineno - 1:node.end_lineno])
        if "workspace_id" not in body and ESCAPE not in body:
            problems.append(f"{label}:{node.lineno} {node.name}")
    return problems


def test_there_are_store_modules_to_check() -> None:
    assert len(_store_modules()) >= 4


@pytest.mark.parametrize("path", _store_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_store_query_is_scoped_by_workspace(path: Path) -> None:
    assert unscoped_functions(path.read_text(), str(path.relative_to(ROOT.parent))) == []


def test_the_check_catches_an_unscoped_query() -> None:
    bad = "def all_profiles(conn):\n    return conn.execute(select(profiles)).all()\n"
    assert unscoped_functions(bad, "bad.py") == ["bad.py:1 all_profiles"]


def test_the_check_accepts_a_scoped_or_explained_query() -> None:
    scoped = "def mine(conn, workspace_id):\n    return conn.execute(select(t).where(t.c.workspace_id == 1))\n"
    explained = "def every(conn):\n    # tenancy: cross-workspace (admin list)\n    return conn.execute(select(t))\n"
    assert unscoped_functions(scoped, "a.py") == unscoped_functions(explained, "b.py") == []
