"""``Points Changed`` on both databases: every ledger operation that moves a member's balance writes
one entry with the values after it — the real-time segments' cue (tests/segments/test_loyalty_conditions.py)
— and an operation that moves nothing (a repeated key, a refused spend, an earning capped to nothing)
writes none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.loyalty import points, store
from siyu.loyalty.models import Expiry
from tests.loyalty.helpers import NOW, earn, spend


def _written(runtime: Any, workspace: Any) -> list[tuple[int, dict[str, int]]]:
    with read(runtime.engine) as conn:
        rows = conn.execute(select(events.c.profile_id, events.c.properties, events.c.source, events.c.user_id)
                            .where(events.c.workspace_id == workspace.id, events.c.name == "Points Changed")
                            .order_by(events.c.id)).all()
    assert all(r.source == "loyalty" and r.user_id is None for r in rows)  # siyu's entry, not a client's
    return [(r.profile_id, r.properties) for r in rows]


def test_each_balance_change_writes_one_entry_and_nothing_else_does(runtime: Any, workspace: Any) -> None:
    clock.freeze(NOW)
    earn(runtime, workspace, 1, 100, "e1")
    earn(runtime, workspace, 1, 100, "e1")  # the same key: nothing changes, nothing is written
    earn(runtime, workspace, 2, 40, "e2")
    spend(runtime, workspace, 1, 30, "s1")
    assert spend(runtime, workspace, 1, 500, "s2") == "loyalty.insufficient_points"  # rolled back
    earn(runtime, workspace, 1, 10, "c1", cap=("checkin", 1, 10))
    earn(runtime, workspace, 1, 10, "c2", cap=("checkin", 1, 10))  # the day's cap is reached: 0 credited
    assert _written(runtime, workspace) == [(1, {"points_balance": 100, "growth_value": 0}),
                                            (2, {"points_balance": 40, "growth_value": 0}),
                                            (1, {"points_balance": 70, "growth_value": 0}),
                                            (1, {"points_balance": 80, "growth_value": 0})]


def test_a_refund_writes_the_balance_it_leaves_and_a_repeat_writes_nothing(runtime: Any, workspace: Any) -> None:
    clock.freeze(NOW)
    earn(runtime, workspace, 3, 200, "o1", order_id="O-1")
    spend(runtime, workspace, 3, 150, "s")
    for _ in range(2):
        with write(runtime.engine) as conn:
            points.reverse_order(conn, workspace.id, "O-1", now=clock.now())
    assert _written(runtime, workspace)[-2:] == [(3, {"points_balance": 50, "growth_value": 0}),
                                                 (3, {"points_balance": 0, "growth_value": 0})]  # 150 owed


def test_the_loyalty_worker_may_write_the_entry_itself(runtime: Any, workspace: Any) -> None:
    """``note_change=False``: the caller writes one entry for its whole batch (siyu.loyalty.follow)."""
    clock.freeze(NOW)
    with write(runtime.engine) as conn:
        points.earn(conn, workspace.id, 4, 10, key="a", reason="test", now=clock.now(), expiry=Expiry(),
                    timezone="Asia/Shanghai", note_change=False)
        points.earn(conn, workspace.id, 4, 10, key="b", reason="test", now=clock.now(), expiry=Expiry(),
                    timezone="Asia/Shanghai", note_change=False)
        assert _written_in(conn, workspace) == 0

        store.append_points_changed(conn, workspace.id, [4, 4, 99], clock.now())  # 99: no member, no entry
    assert _written(runtime, workspace) == [(4, {"points_balance": 20, "growth_value": 0})]


def _written_in(conn: Any, workspace: Any) -> int:
    return len(conn.execute(select(events.c.id).where(events.c.workspace_id == workspace.id,
                                                      events.c.name == "Points Changed")).all())
