"""Several workers run the growth-task step at once, each on its own connection, on SQLite and
PostgreSQL: every completion is decided once and rewarded once — one reward row, one points entry,
one ``Task Completed`` event and one offer claim per person — and progress counts each event once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, offer_claims, points_entries
from siyu.loyalty import tasks_service, tasks_store, tasks_worker
from siyu.profiles.read_store import append_profile_events
from tests.loyalty.helpers import NOW, TZ, make_programme
from tests.offers.helpers import make_offer
from tests.payments.pay import person

THREADS = 4


def _count(runtime, workspace, table, *where) -> int:  # noqa: ANN001, ANN002
    with read(runtime.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(
            table.c.workspace_id == workspace.id, *where)).scalar_one())


def test_workers_racing_reward_each_completion_once(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    coupon = make_offer(runtime, workspace, stock=100, per_person_limit=5)
    with write(runtime.engine) as conn:
        task = tasks_service.create_task(conn, workspace.id, {
            "key": "visits", "name_zh": "到店 3 次", "name_en": "Visit 3 times", "kind": "custom",
            "event": "Store Visited", "target": 3, "points": 10, "offer_id": coupon.id,
            "starts_at": NOW.replace(day=1).isoformat()}, now=clock.now())
    people = [person(client, workspace, None, f"p{n}") for n in range(6)]
    with write(runtime.engine) as conn:
        append_profile_events(conn, workspace.id, [(p, "Store Visited", {}) for p in people for _ in range(2)]
                              + [(p, "Store Visited", {}) for p in people[:4]], "test", clock.now())
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(3):
                tasks_worker.run_workspace(runtime.engine, workspace.id, TZ, clock.now())
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with read(runtime.engine) as conn:
        progress = {p: tasks_store.progress_of(conn, workspace.id, p, task_id=task.id)[0].progress for p in people}
    assert progress == {p: 3 if n < 4 else 2 for n, p in enumerate(people)}
    assert _count(runtime, workspace, events, events.c.name == "Task Completed") == 4
    assert _count(runtime, workspace, points_entries, points_entries.c.reason == "task:visits") == 4
    assert _count(runtime, workspace, offer_claims, offer_claims.c.offer_id == coupon.id) == 4
