"""The same compiled segments on the DuckDB analytics engine: exactly the members the operational
database and the reference evaluator select (the issue's "proven equal on the same data")."""

from __future__ import annotations

import random

from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import sync
from siyu.db.engine import read
from siyu.runtime import Runtime
from siyu.segments.compile import Context, count_query, members_query
from siyu.segments.evaluate import matches
from siyu.segments.parse import parse
from tests.segments.definitions import definition, leaf
from tests.segments.population import NOW, build


def test_duckdb_the_database_and_the_reference_agree(runtime: Runtime, workspace) -> None:
    people = build(runtime, workspace.id)
    sync(runtime, workspace.id, snapshot_tables=True)
    rng = random.Random(31)
    raws = [leaf(rng) for _ in range(150)] + [definition(rng) for _ in range(100)]
    ctx = Context(workspace.id, NOW)
    with read(runtime.engine) as conn, open_engine(runtime, workspace.id) as engine:
        for raw in raws:
            tree = parse(raw)
            expected = {pid for pid, person in people.items() if matches(tree, person, NOW)}
            operational = set(conn.execute(members_query(tree, ctx)).scalars())
            analytical = {row[0] for row in engine.execute(members_query(tree, ctx))}
            assert operational == expected, raw
            assert analytical == expected, f"DuckDB disagrees on {raw}: extra {analytical - expected}, " \
                                           f"missing {expected - analytical}"
            assert engine.scalar(count_query(tree, ctx)) == len(expected)


def test_the_rfm_ranking_is_the_same_on_duckdb_as_in_the_database(runtime: Runtime, workspace) -> None:
    """The ranking compute_rfm writes is a public query the analytics engine runs as it is."""
    from sqlalchemy import select

    from siyu.db.engine import write
    from siyu.db.tables import profile_scores
    from siyu.segments.score_store import compute_rfm, rfm_ranking

    build(runtime, workspace.id)
    sync(runtime, workspace.id, snapshot_tables=True)
    with write(runtime.engine) as conn:
        buyers = compute_rfm(conn, workspace.id, NOW)
    with read(runtime.engine) as conn, open_engine(runtime, workspace.id) as engine:
        operational = sorted(tuple(row) for row in conn.execute(rfm_ranking(workspace.id)))
        analytical = sorted(tuple(row) for row in engine.execute(rfm_ranking(workspace.id)))
        scores = profile_scores.c
        written = sorted(tuple(row) for row in conn.execute(
            select(scores.profile_id, scores.rfm_recency, scores.rfm_frequency, scores.rfm_monetary, scores.rfm_segment)
            .where(scores.workspace_id == workspace.id, scores.rfm_segment.is_not(None))))
    assert buyers == len(operational) > 10
    assert analytical == operational == written
    assert {row[4] for row in operational} >= {"champions", "hibernating"}
