"""Concurrency on both databases: many triggers for one person at once pass a once-only rule once,
and several workers advancing at once advance each entry once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.journeys import lifecycle, runner
from siyu.journeys.errors import JourneyConflict
from siyu.runtime import Runtime
from tests.journeys.scenario import NOON, email, entries, live, person, queued, quiet_policy


def _together(count: int, work: Any) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at once; their results or exceptions."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - collected for the assertions
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_entries_of_one_person_pass_a_once_rule_once(runtime: Runtime, client: Any,
                                                                workspace: Any) -> None:
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")
    journey = live(client, workspace, {"trigger": {"api": True}, "steps": [{"id": "hi", "send": email("你好")}]})

    def enter(i: int) -> bool:
        with write(runtime.engine) as conn:
            return lifecycle.enter_by_api(conn, workspace.id, journey["id"], profile_id=lina, key=f"k{i}",
                                          properties=None, now=clock.now())[1]

    results = _together(8, enter)
    assert Counter(type(r).__name__ for r in results) == {"bool": 1, "JourneyConflict": 7}, results
    assert all(r.code == "journeys.already_entered" for r in results if isinstance(r, JourneyConflict))
    assert len(entries(runtime, workspace, journey["id"])) == 1


def test_workers_advancing_at_once_advance_each_entry_once(runtime: Runtime, client: Any, workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    journey = live(client, workspace, {"trigger": {"api": True},
                                       "steps": [{"id": "a", "send": email("一")}, {"id": "b", "send": email("二")}]})
    people = [person(client, workspace, f"p{n}") for n in range(40)]
    for n, profile_id in enumerate(people):
        assert client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                           json={"profile_id": profile_id, "idempotency_key": f"k{n}"}).status_code == 201
    reports = _together(4, lambda _: runner.advance_due(runtime.engine, workspace_id=workspace.id))
    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.advanced for r in reports) == 40 and sum(r.failed for r in reports) == 0
    assert len(queued(runtime, workspace, journey["id"])) == 80
    assert {e["status"] for e in entries(runtime, workspace, journey["id"])} == {"completed"}
