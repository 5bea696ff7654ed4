"""One definition, several evaluators: the SQL compiler selects exactly the people the reference
evaluator accepts, on SQLite and PostgreSQL, for hundreds of generated definitions."""

from __future__ import annotations

import random

import pytest

from siyu.db.engine import read
from siyu.runtime import Runtime
from siyu.segments.compile import Context, count_query, members_query
from siyu.segments.dump import dump
from siyu.segments.evaluate import matches
from siyu.segments.parse import parse
from tests.segments.definitions import definition, leaf
from tests.segments.population import NOW, build


@pytest.fixture
def population(runtime: Runtime, workspace):  # noqa: ANN001, ANN201
    return workspace.id, build(runtime, workspace.id)


def _check(runtime: Runtime, workspace_id: int, people, raw) -> None:  # noqa: ANN001
    tree = parse(raw)
    assert parse(dump(tree)) == tree, "dump is the inverse of parse"
    expected = {pid for pid, person in people.items() if matches(tree, person, NOW)}
    ctx = Context(workspace_id, NOW)
    with read(runtime.engine) as conn:
        got = set(conn.execute(members_query(tree, ctx)).scalars())
        count = conn.execute(count_query(tree, ctx)).scalar_one()
    assert got == expected, f"definition {raw} disagrees: sql-only {got - expected}, python-only {expected - got}"
    assert count == len(expected)


def test_every_kind_of_leaf_agrees_with_the_reference(runtime: Runtime, population) -> None:  # noqa: ANN001
    workspace_id, people = population
    rng = random.Random(11)
    for _ in range(400):
        _check(runtime, workspace_id, people, leaf(rng))


def test_nested_definitions_agree_with_the_reference(runtime: Runtime, population) -> None:  # noqa: ANN001
    workspace_id, people = population
    rng = random.Random(23)
    for _ in range(200):
        _check(runtime, workspace_id, people, definition(rng))


def test_evaluating_a_few_profiles_gives_their_part_of_the_full_answer(runtime: Runtime, population) -> None:  # noqa: ANN001
    """Real-time evaluation narrows every subquery to the changed people; it must not change answers."""
    workspace_id, people = population
    rng = random.Random(5)
    chosen = sorted(people)[::7]
    for _ in range(100):
        tree = parse(definition(rng))
        with read(runtime.engine) as conn:
            everyone = set(conn.execute(members_query(tree, Context(workspace_id, NOW))).scalars())
            some = set(conn.execute(members_query(tree, Context(workspace_id, NOW, chosen))).scalars())
        assert some == everyone & set(chosen)


def test_the_generated_population_exercises_both_answers(runtime: Runtime, population) -> None:  # noqa: ANN001
    """Guard against a vacuous agreement: most generated leaves select some people but not all."""
    workspace_id, people = population
    rng = random.Random(11)
    sizes = []
    for _ in range(200):
        tree = parse(leaf(rng))
        sizes.append(sum(matches(tree, person, NOW) for person in people.values()))
    split = [s for s in sizes if 0 < s < len(people)]
    assert len(split) > 0.6 * len(sizes)
