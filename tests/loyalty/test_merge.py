"""A profile merge folds two loyalty memberships into one (both databases, through an identify that
links the two profiles): growth adds up, the higher tier is kept, balances and debts add up, and the
ledger, lots, tier history and daily-cap counters follow — the balance still equals the ledger sum
and the lots' remaining points."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import points_daily
from siyu.loyalty import membership, points, points_store, store
from siyu.loyalty.errors import MemberNotFound
from siyu.loyalty.merge_store import combined
from siyu.runtime import Runtime
from tests.journeys.test_merges import _anonymous, _merge, _owner
from tests.loyalty.helpers import NOW, balances, earn, make_programme, spend

CAP = ("event:Checked In", 20000, 15)


def _grow(runtime: Runtime, workspace: Any, profile_id: int, delta: int) -> None:
    with write(runtime.engine) as conn:
        programme, _, _ = store.get_programme(conn, workspace.id)
        member, _ = store.lock_member(conn, workspace.id, profile_id, clock.now())
        membership.apply_growth(conn, workspace.id, programme, member, delta, clock.now())


def _two_accounts(client: Any, workspace: Any, name: str) -> tuple[int, int]:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": f"u-{name}"})
    assert sent.status_code == 200, sent.text
    survivor = _owner(client, workspace, "user_id", f"u-{name}")
    merged_away = _anonymous(client, workspace, f"anon-{name}", "Product Viewed")
    assert survivor != merged_away
    return survivor, merged_away


def test_two_memberships_become_one_and_the_ledger_still_balances(runtime: Runtime, client: Any,
                                                                   workspace: Any) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace, earning={"events": [{"event": "Checked In", "points": 10, "daily_cap": 15}]})
    survivor, merged_away = _two_accounts(client, workspace, "loyal-1")
    earn(runtime, workspace, survivor, 120, "s-earn", cap=CAP)  # capped at 15 for the day
    earn(runtime, workspace, survivor, 200, "s-order", order_id="S1")
    _grow(runtime, workspace, survivor, 300)
    earn(runtime, workspace, merged_away, 10, "m-check", cap=CAP)
    earn(runtime, workspace, merged_away, 40, "m-other")
    earn(runtime, workspace, merged_away, 100, "m-order", order_id="M1")
    assert spend(runtime, workspace, merged_away, 130, "m-spend").points == -130
    with write(runtime.engine) as conn:  # refund: 20 taken back, 80 owed
        points.reverse_order(conn, workspace.id, "M1", now=clock.now())
    _grow(runtime, workspace, merged_away, 1200)  # reaches 银卡 on the merged-away account only
    with read(runtime.engine) as conn:
        before = {p: store.get_member(conn, workspace.id, p) for p in (survivor, merged_away)}
    assert before[merged_away].tier_rank == 1 and before[survivor].tier_rank == 0
    assert before[merged_away].points_debt == 80

    _merge(client, workspace, "u-loyal-1", "anon-loyal-1")
    assert _owner(client, workspace, "anonymous_id", "anon-loyal-1") == survivor

    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, survivor)
        history = store.tier_history(conn, workspace.id, survivor)
        daily = conn.execute(select(points_daily.c.profile_id, points_daily.c.earned).where(
            points_daily.c.workspace_id == workspace.id, points_daily.c.rule == CAP[0])).all()
        try:
            store.get_member(conn, workspace.id, merged_away)
            gone = False
        except MemberNotFound:
            gone = True
    assert gone
    assert member.tier_rank == 1  # the higher tier is kept
    assert member.growth_value == before[survivor].growth_value + before[merged_away].growth_value == 1500
    assert member.points_balance == before[survivor].points_balance + before[merged_away].points_balance
    assert member.points_debt == 80
    assert balances(runtime, workspace, survivor) == (member.points_balance,) * 3
    assert [h["to_rank"] for h in history] == [1]  # the upgrade's history moved with it
    # Both accounts count against the day's cap (15 + 10, held at the programme's cap of 15).
    assert [(int(p), int(e)) for p, e in daily] == [(survivor, 15)]
    assert earn(runtime, workspace, survivor, 10, "after", cap=CAP).points == 0

    earn(runtime, workspace, survivor, 100, "after-merge")  # the debt is repaid first, as for anyone
    with read(runtime.engine) as conn:
        assert store.get_member(conn, workspace.id, survivor).points_debt == 0
    balance, ledger, lots = balances(runtime, workspace, survivor)
    assert balance == ledger == lots


def test_a_member_merged_into_a_non_member_simply_changes_hands(runtime: Runtime, client: Any,
                                                                workspace: Any) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    survivor, merged_away = _two_accounts(client, workspace, "loyal-2")
    earn(runtime, workspace, merged_away, 70, "only")
    _merge(client, workspace, "u-loyal-2", "anon-loyal-2")
    assert balances(runtime, workspace, survivor) == (70, 70, 70)
    with read(runtime.engine) as conn:
        assert points_store.ledger_totals(conn, workspace.id, merged_away) == (0, 0)


def _row(rank: int, since: int, **values: Any) -> Any:
    base = {"growth_value": 10, "previous_growth": 1, "tier_rank": rank, "tier_since": NOW.replace(day=since),
            "downgrade_to": None, "downgrade_at": None, "points_balance": 5, "points_debt": 0,
            "last_active_day": None, "monthly_granted": None, "created_at": NOW.replace(day=since)}
    return SimpleNamespace(**{**base, **values})


def test_the_higher_tier_keeps_its_pending_downgrade_and_equal_tiers_keep_one_only_if_both_had_one() -> None:
    grace = NOW.replace(day=29)
    higher = combined(_row(0, 1), _row(2, 2, downgrade_to=1, downgrade_at=grace))
    assert (higher["tier_rank"], higher["downgrade_to"], higher["downgrade_at"]) == (2, 1, grace)
    one_safe = combined(_row(1, 1), _row(1, 2, downgrade_to=0, downgrade_at=grace))
    assert (one_safe["tier_rank"], one_safe["downgrade_at"]) == (1, None)
    both = combined(_row(1, 1, downgrade_to=0, downgrade_at=grace.replace(day=20)),
                    _row(1, 2, downgrade_to=0, downgrade_at=grace))
    assert both["downgrade_at"] == grace
    months = combined(_row(0, 1, monthly_granted=202610, last_active_day=5), _row(0, 2, monthly_granted=202611))
    assert (months["monthly_granted"], months["last_active_day"]) == (202611, 5)
    assert months["growth_value"] == 20 and months["points_balance"] == 10
