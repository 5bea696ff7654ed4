"""The worker following the log, and the nightly evaluation, as scenarios: send events, move time,
expect tiers, points and events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.loyalty import store, worker
from siyu.profiles.read_store import append_profile_events
from tests.loyalty.helpers import NOW, TZ, balances, make_programme


def _track(runtime, workspace, profile_id: int, name: str, **properties) -> None:  # noqa: ANN001, ANN003
    with write(runtime.engine) as conn:
        append_profile_events(conn, workspace.id, [(profile_id, name, properties)], "test", clock.now())


def _named(runtime, workspace, name: str) -> list[dict]:  # noqa: ANN001
    with read(runtime.engine) as conn:
        return [r.properties for r in conn.execute(select(events.c.properties).where(
            events.c.workspace_id == workspace.id, events.c.name == name).order_by(events.c.id))]


def test_orders_earn_points_and_growth_and_an_upgrade_is_at_once_with_an_event(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace, earning={"per_yuan": 1})
    _track(runtime, workspace, 7, "Order Completed", order_id="A1", revenue=600)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, 7)
    assert (member.tier_rank, member.growth_value, member.points_balance) == (0, 605, 600)  # + 5 for the day
    _track(runtime, workspace, 7, "Order Completed", order_id="A2", revenue=500)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())  # again: nothing twice
    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, 7)
    assert (member.tier_rank, member.growth_value, member.points_balance) == (1, 1105, 1100)
    assert [(e["from_tier"], e["to_tier"]) for e in _named(runtime, workspace, "Tier Changed")] == [("普卡", "银卡")]
    _track(runtime, workspace, 7, "Order Completed", order_id="A3", revenue=100)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    assert balances(runtime, workspace, 7)[0] == 1250  # silver earns 1.5 ×
    _track(runtime, workspace, 7, "Order Refunded", order_id="A3")
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, 7)
    assert (member.points_balance, member.growth_value, member.tier_rank) == (1100, 1105, 1)


def test_a_short_period_downgrades_only_after_the_grace_unless_the_member_earns_it_back(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace, evaluation_days=30, grace_days=10, earning={"per_yuan": 0},
                   weights={"spend_per_yuan": 1})
    for person, revenue in ((1, 6000), (2, 6000), (3, 1200)):
        _track(runtime, workspace, person, "Order Completed", order_id=f"B{person}", revenue=revenue)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    clock.freeze(NOW + timedelta(days=31))  # the first period reached gold, gold, silver: all kept
    assert worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now()) is not None
    assert worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now()) is None  # once a day
    assert _named(runtime, workspace, "Tier At Risk") == []
    clock.freeze(NOW + timedelta(days=61))  # the second period: nobody bought
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    with read(runtime.engine) as conn:
        ranks = {p: store.get_member(conn, workspace.id, p) for p in (1, 2, 3)}
    assert [(m.tier_rank, m.downgrade_to) for m in ranks.values()] == [(2, 0), (2, 0), (1, 0)]  # kept in grace
    assert len(_named(runtime, workspace, "Tier At Risk")) == 3
    _track(runtime, workspace, 2, "Order Completed", order_id="B2b", revenue=5000)  # earns gold back
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    clock.freeze(NOW + timedelta(days=71, hours=1))
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    with read(runtime.engine) as conn:
        after = {p: store.get_member(conn, workspace.id, p).tier_rank for p in (1, 2, 3)}
        history = store.tier_history(conn, workspace.id, 1)
    assert after == {1: 0, 2: 2, 3: 0}
    assert [h["reason"] for h in history] == ["downgrade", "grace", "upgrade"]
    downgrades = [e for e in _named(runtime, workspace, "Tier Changed") if e["reason"] == "downgrade"]
    assert sorted((e["from_rank"], e["to_rank"]) for e in downgrades) == [(1, 0), (2, 0)]


def test_points_expiring_reminders_are_written_once_n_days_before(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace, remind_days=7, expiry={"mode": "rolling", "days": 20})
    _track(runtime, workspace, 5, "Order Completed", order_id="C1", revenue=88)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    clock.freeze(NOW + timedelta(days=12))
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    assert _named(runtime, workspace, "Points Expiring") == []
    clock.freeze(NOW + timedelta(days=14))
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    clock.freeze(NOW + timedelta(days=15))
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    reminders = _named(runtime, workspace, "Points Expiring")
    assert [r["points"] for r in reminders] == [88]
    clock.freeze(NOW + timedelta(days=21))
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    assert balances(runtime, workspace, 5) == (0, 0, 0)


def test_reaching_a_tier_claims_its_offer_once_and_the_monthly_offer_comes_each_local_month(runtime, workspace) -> None:  # noqa: ANN001
    from tests.offers.helpers import make_offer

    clock.freeze(NOW)
    welcome = make_offer(runtime, workspace, stock=10, per_person_limit=5)
    monthly = make_offer(runtime, workspace, stock=10, per_person_limit=5)
    ladder = [{"name": "普卡", "threshold": 0},
              {"name": "银卡", "threshold": 100, "reach_offer_id": welcome.id, "monthly_offer_id": monthly.id}]
    make_programme(runtime, workspace, tiers=ladder)
    _track(runtime, workspace, 9, "Order Completed", order_id="D1", revenue=150)
    _track(runtime, workspace, 8, "Order Completed", order_id="D2", revenue=50)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())

    def claims(offer_id: int) -> list[int]:
        return [c["profile_id"] for c in client_claims(runtime, workspace, offer_id)]

    assert claims(welcome.id) == [9]
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    assert claims(monthly.id) == [9]  # November's, only the silver member
    clock.freeze(NOW + timedelta(days=1))  # 1 December in Beijing: a new local month
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    clock.freeze(NOW + timedelta(days=2))
    worker.run_nightly_if_due(runtime.engine, workspace.id, TZ, clock.now())
    assert claims(monthly.id) == [9, 9] and claims(welcome.id) == [9]


def client_claims(runtime, workspace, offer_id: int) -> list[dict]:  # noqa: ANN001
    from siyu.offers import store as offers_store

    with read(runtime.engine) as conn:
        return [{"profile_id": c.profile_id} for c in offers_store.list_claims(conn, workspace.id, offer_id=offer_id)]


def test_an_order_sent_twice_under_two_message_ids_earns_and_grows_once(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace, weights={"spend_per_yuan": 1})
    _track(runtime, workspace, 4, "Order Completed", order_id="E1", revenue=300)
    _track(runtime, workspace, 4, "Order Completed", order_id="E1", revenue=300)
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, 4)
    assert (member.points_balance, member.growth_value) == (300, 300)
