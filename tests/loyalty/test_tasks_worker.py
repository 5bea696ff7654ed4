"""Growth tasks through the worker, as scenarios: people act (events), the worker follows the log,
progress moves per period, a completion is rewarded once with points, an offer and a ``Task
Completed`` event that loyalty's own rules turn into growth value — even when the worker runs twice
or fails halfway — and a merge adds progress up without rewarding twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, offer_claims, points_entries
from siyu.loyalty import store, tasks_service, tasks_store, tasks_worker, worker
from siyu.profiles.read_store import append_profile_events
from tests.loyalty.helpers import NOW, TZ, make_programme
from tests.offers.helpers import make_offer
from tests.payments.pay import person


def create(runtime, workspace, **values: Any) -> Any:  # noqa: ANN001
    base = {"name_zh": "任务", "name_en": "Task", "starts_at": (NOW - timedelta(days=30)).isoformat()}
    with write(runtime.engine) as conn:
        return tasks_service.create_task(conn, workspace.id, {**base, **values}, now=clock.now())


def track(runtime, workspace, profile_id: int, name: str, **properties: Any) -> None:  # noqa: ANN001
    with write(runtime.engine) as conn:
        append_profile_events(conn, workspace.id, [(profile_id, name, properties)], "test", clock.now())


def run(runtime, workspace) -> dict[str, int]:  # noqa: ANN001
    return tasks_worker.run_workspace(runtime.engine, workspace.id, TZ, clock.now())


def member_tasks(runtime, workspace, profile_id: int) -> dict[str, dict]:  # noqa: ANN001
    with read(runtime.engine) as conn:
        return {t["key"]: t for t in tasks_service.tasks_for_member(conn, workspace.id, profile_id, now=clock.now())}


def count(runtime, workspace, table, *where) -> int:  # noqa: ANN001, ANN002
    with read(runtime.engine) as conn:
        return len(conn.execute(select(table).where(table.c.workspace_id == workspace.id, *where)).all())


def completed_events(runtime, workspace) -> list[dict]:  # noqa: ANN001
    with read(runtime.engine) as conn:
        return [dict(r.properties, source=r.source) for r in conn.execute(select(events.c.properties, events.c.source)
                .where(events.c.workspace_id == workspace.id, events.c.name == "Task Completed").order_by(events.c.id))]


def test_reviews_make_progress_and_the_third_completes_with_points_offer_event_and_growth(  # noqa: ANN001
        runtime, client, workspace) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace, earning={"per_yuan": 0, "tasks": [{"task": "review3", "points": 7}]})
    coupon = make_offer(runtime, workspace, stock=5)
    review = create(runtime, workspace, key="review3", kind="write_review", target=3, points=50, offer_id=coupon.id)
    ann = person(client, workspace, None, "ann")
    track(runtime, workspace, ann, "Review Written", order_id="o1")
    track(runtime, workspace, ann, "Order Completed", order_id="o1", revenue=0)  # not a review
    run(runtime, workspace)
    mine = member_tasks(runtime, workspace, ann)["review3"]
    assert (mine["progress"], mine["target"], mine["completed"], mine["points"]) == (1, 3, False, 50)
    track(runtime, workspace, ann, "Review Written")
    track(runtime, workspace, ann, "Review Written")
    track(runtime, workspace, ann, "Review Written")  # past the target: nothing more
    run(runtime, workspace)
    run(runtime, workspace)
    mine = member_tasks(runtime, workspace, ann)["review3"]
    assert (mine["progress"], mine["completed"], mine["completed_at"] is not None) == (3, True, True)
    assert [(e["task"], e["source"]) for e in completed_events(runtime, workspace)] == [("review3", "loyalty")]
    assert count(runtime, workspace, offer_claims, offer_claims.c.profile_id == ann) == 1
    worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())  # loyalty sees Task Completed
    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, ann)
    # 50 from the task's own reward + 7 from the programme's task rule; growth: weights.task 20 + 5 active day
    assert member.points_balance == 57
    assert member.growth_value == 25
    with read(runtime.engine) as conn:
        detail = tasks_service.progress_for(conn, workspace.id, review.id, ann)
    assert [r["status"] for r in detail["rewards"]] == ["delivered"]
    assert detail["rewards"][0]["claim_id"] is not None


def test_a_daily_task_completes_again_the_next_local_day_and_rewards_each_day_once(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)  # 10:00 in Beijing
    make_programme(runtime, workspace)
    create(runtime, workspace, key="checkin", kind="custom", event="Store Visited", filter={"store": "SH01"},
           repeat="daily", points=5)
    bo = person(client, workspace, None, "bo")
    track(runtime, workspace, bo, "Store Visited", store="SH02")  # another store: no progress
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, bo)["checkin"]["progress"] == 0
    track(runtime, workspace, bo, "Store Visited", store="SH01")
    track(runtime, workspace, bo, "Store Visited", store="SH01")
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, bo)["checkin"]["completed"]
    clock.freeze(NOW + timedelta(hours=14))  # 00:00 the next day in Beijing
    today = member_tasks(runtime, workspace, bo)["checkin"]
    assert (today["period"], today["progress"], today["completed"]) == ("d2026-12-01", 0, False)
    track(runtime, workspace, bo, "Store Visited", store="SH01")
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, bo)["checkin"]["completed"]
    assert count(runtime, workspace, points_entries, points_entries.c.profile_id == bo) == 2
    assert [e["period"] for e in completed_events(runtime, workspace)] == ["d2026-11-30", "d2026-12-01"]


def test_profile_completion_follows_the_traits_and_completes_when_all_are_filled(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    create(runtime, workspace, key="profile", kind="profile_complete", traits=["name", "city", "birthday"])
    answer = client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "cy", "traits": {
        "name": "Cy", "city": "上海"}})
    assert answer.status_code == 200
    cy = person(client, workspace, None, "cy")
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, cy)["profile"]["progress"] == 2
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "cy", "traits": {
        "birthday": "1990-05-01"}})
    run(runtime, workspace)
    done = member_tasks(runtime, workspace, cy)["profile"]
    assert (done["progress"], done["target"], done["completed"]) == (3, 3, True)
    assert [e["task"] for e in completed_events(runtime, workspace)] == ["profile"]  # no programme: no points


def test_no_progress_outside_the_tasks_window_or_after_it_is_deactivated(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    later = create(runtime, workspace, key="later", kind="follow_account",
                   starts_at=(NOW + timedelta(days=1)).isoformat())
    stopped = create(runtime, workspace, key="group", kind="join_group")
    with write(runtime.engine) as conn:
        tasks_service.deactivate_task(conn, workspace.id, stopped.id, now=clock.now())
    di = person(client, workspace, None, "di")
    track(runtime, workspace, di, "Followed")
    track(runtime, workspace, di, "Group Member Joined", chat_id="c1")
    run(runtime, workspace)
    with read(runtime.engine) as conn:
        assert tasks_store.progress_of(conn, workspace.id, di) == []
        assert tasks_service.get_task(conn, workspace.id, later.id).definition.active
    assert member_tasks(runtime, workspace, di) == {}  # neither runs now


def test_the_decision_survives_a_crash_before_delivery_and_a_failed_delivery_grants_nothing_twice(  # noqa: ANN001
        runtime, client, workspace, monkeypatch) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    coupon = make_offer(runtime, workspace, stock=5)
    create(runtime, workspace, key="follow", kind="follow_account", points=30, offer_id=coupon.id)
    ed = person(client, workspace, None, "ed")
    track(runtime, workspace, ed, "Followed")
    # Stage 1 only: the decision is written, then the worker "crashes" before delivering.
    tasks_worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    tasks_worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())
    assert member_tasks(runtime, workspace, ed)["follow"]["completed"]
    assert completed_events(runtime, workspace) == []
    # Delivery fails after the points and the event, at the offer: all of it rolls back.
    from siyu.offers import service as offers_service

    real = offers_service.claim_offer

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated crash while claiming")

    monkeypatch.setattr(offers_service, "claim_offer", broken)
    with pytest.raises(RuntimeError):
        tasks_worker.deliver_rewards(runtime.engine, workspace.id, clock.now())
    assert completed_events(runtime, workspace) == []
    assert count(runtime, workspace, points_entries, points_entries.c.profile_id == ed) == 0
    monkeypatch.setattr(offers_service, "claim_offer", real)
    assert tasks_worker.deliver_rewards(runtime.engine, workspace.id, clock.now()) == 1
    assert tasks_worker.deliver_rewards(runtime.engine, workspace.id, clock.now()) == 0
    run(runtime, workspace)
    assert len(completed_events(runtime, workspace)) == 1
    assert count(runtime, workspace, points_entries, points_entries.c.profile_id == ed) == 1
    assert count(runtime, workspace, offer_claims, offer_claims.c.profile_id == ed) == 1


def test_a_refused_offer_is_kept_on_the_reward_and_the_completion_stands(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    coupon = make_offer(runtime, workspace, stock=1)
    task = create(runtime, workspace, key="join", kind="join_group", offer_id=coupon.id)
    fay, gus = person(client, workspace, None, "fay"), person(client, workspace, None, "gus")
    track(runtime, workspace, fay, "Group Member Joined")
    track(runtime, workspace, gus, "Group Member Joined")
    run(runtime, workspace)
    with read(runtime.engine) as conn:
        rewards = [tasks_service.progress_for(conn, workspace.id, task.id, p)["rewards"][0] for p in (fay, gus)]
    assert [(r["status"], r["claim_id"] is not None, r["offer_error"]) for r in rewards] == [
        ("delivered", True, None), ("delivered", False, "offers.out_of_stock")]
    assert len(completed_events(runtime, workspace)) == 2


def test_an_operator_marks_attendance_once_per_key_and_three_complete_the_task(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    task = create(runtime, workspace, key="salon", kind="attend_event", target=2, filter={"city": "上海"})
    hal = person(client, workspace, None, "hal")
    with write(runtime.engine) as conn:
        first = tasks_service.mark_attendance(conn, workspace.id, task.id, hal, key="s1", now=clock.now())
        again = tasks_service.mark_attendance(conn, workspace.id, task.id, hal, key="s1", now=clock.now())
    assert (first["recorded"], again["recorded"]) == (True, False)
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, hal)["salon"]["progress"] == 1
    with write(runtime.engine) as conn:
        tasks_service.mark_attendance(conn, workspace.id, task.id, hal, key="s2", now=clock.now())
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, hal)["salon"]["completed"]


def test_credited_campaign_invites_count_for_the_inviter_once_each(runtime, client, workspace) -> None:  # noqa: ANN001
    from siyu.db.tables import campaign_credits, campaign_participants

    clock.freeze(NOW)
    create(runtime, workspace, key="invite2", kind="invite_friends", target=2)
    ivy = person(client, workspace, None, "ivy")
    with write(runtime.engine) as conn:
        participant = conn.execute(campaign_participants.insert().values(
            workspace_id=workspace.id, campaign_id=1, profile_id=ivy, token=f"t{workspace.id}", progress=0,
            link_opens=0, new_customer=0, joined_at=NOW, progress_at=NOW).returning(
            campaign_participants.c.id)).scalar_one()
        for n, status in enumerate(("credited", "pending", "credited")):
            conn.execute(campaign_credits.insert().values(
                workspace_id=workspace.id, campaign_id=1, participant_id=participant, profile_id=1000 + n,
                kind="invite", unique_key=f"k{n}", status=status, new_customer=1, created_at=NOW,
                credited_at=NOW if status == "credited" else None, updated_at=NOW))
    run(runtime, workspace)
    run(runtime, workspace)  # the credits at the cursor's millisecond are looked at again: counted once
    mine = member_tasks(runtime, workspace, ivy)["invite2"]
    assert (mine["progress"], mine["completed"]) == (2, True)


def test_a_merge_adds_progress_up_and_a_completion_is_rewarded_once(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    create(runtime, workspace, key="reviews", kind="write_review", target=3, points=10)
    create(runtime, workspace, key="follow", kind="follow_account", points=10)
    jo, kay = person(client, workspace, None, "jo"), person(client, workspace, None, "kay")
    for who in (jo, kay):
        track(runtime, workspace, who, "Followed")
        track(runtime, workspace, who, "Review Written")
    track(runtime, workspace, kay, "Review Written")
    run(runtime, workspace)
    merged = client.post(f"/api/profiles/{jo}/merge", headers=workspace.bearer(), json={"other": kay, "force": True})
    assert merged.status_code == 200, merged.text
    run(runtime, workspace)
    mine = member_tasks(runtime, workspace, jo)
    assert (mine["reviews"]["progress"], mine["reviews"]["completed"]) == (3, True)  # 1 + 2 reached the target
    assert mine["follow"]["completed"]
    done = [e["task"] for e in completed_events(runtime, workspace)]
    assert sorted(done) == ["follow", "follow", "reviews"]  # each followed before the merge; reviews once
    with read(runtime.engine) as conn:
        assert tasks_store.progress_of(conn, workspace.id, kay) == []
        keys = {t.id: t.key for t in tasks_store.list_tasks(conn, workspace.id)}
        survivor = sorted(keys[r["task_id"]] for r in tasks_store.rewards_of(conn, workspace.id, jo))
        kept = [(keys[r["task_id"]], r["status"]) for r in tasks_store.rewards_of(conn, workspace.id, kay)]
    # the survivor's own follow and the reviews the merge completed; kay's follow stays as history
    assert survivor == ["follow", "reviews"] and kept == [("follow", "delivered")]
    assert count(runtime, workspace, points_entries, points_entries.c.reason.like("task:%")) == 3


def test_a_completion_decided_before_a_merge_is_delivered_once_to_the_survivor(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    create(runtime, workspace, key="follow", kind="follow_account", points=10)
    lu, mo = person(client, workspace, None, "lu"), person(client, workspace, None, "mo")
    track(runtime, workspace, lu, "Followed")
    tasks_worker.follow_log(runtime.engine, workspace.id, TZ, clock.now())  # decided, not delivered yet
    merged = client.post(f"/api/profiles/{mo}/merge", headers=workspace.bearer(), json={"other": lu, "force": True})
    assert merged.status_code == 200, merged.text
    track(runtime, workspace, mo, "Followed")  # the survivor follows too: already completed
    run(runtime, workspace)
    run(runtime, workspace)
    assert member_tasks(runtime, workspace, mo)["follow"]["completed"]
    with read(runtime.engine) as conn:
        assert [r["status"] for r in tasks_store.rewards_of(conn, workspace.id, mo)] == ["delivered"]
        assert tasks_store.rewards_of(conn, workspace.id, lu) == []
    assert len(completed_events(runtime, workspace)) == 1
    assert count(runtime, workspace, points_entries, points_entries.c.reason == "task:follow") == 1


def test_an_event_naming_no_stored_profile_neither_counts_nor_stops_the_worker(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    create(runtime, workspace, key="profile", kind="profile_complete", traits=["name"])
    track(runtime, workspace, 987654321, "Traits Changed", changed=["name"])
    assert run(runtime, workspace)["events"] == 1
    with read(runtime.engine) as conn:
        assert tasks_store.progress_of(conn, workspace.id, 987654321) == []
    assert run(runtime, workspace)["events"] == 0  # the cursor moved past it


def test_steps_read_in_one_batch_count_in_order_and_complete_at_the_completing_event(  # noqa: ANN001
        runtime, client, workspace) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    create(runtime, workspace, key="review2", kind="write_review", target=2, points=5)
    create(runtime, workspace, key="profile", kind="profile_complete", traits=["name", "city"], points=5)
    cy, di = person(client, workspace, None, "cy"), person(client, workspace, None, "di")
    run(runtime, workspace)  # the identifies: each name filled, 1 of 2
    for minutes, who in ((1, cy), (2, di), (3, cy), (4, cy), (5, di)):  # all read in one batch
        clock.freeze(NOW + timedelta(minutes=minutes))
        track(runtime, workspace, who, "Review Written")
    track(runtime, workspace, cy, "Page Viewed")  # counted by no task: not read
    run(runtime, workspace)
    with read(runtime.engine) as conn:
        rows = {(p.profile_id, p.task_id): p for p in tasks_store.progress_of(conn, workspace.id, cy)
                + tasks_store.progress_of(conn, workspace.id, di)}
        tasks = {t.key: t.id for t in tasks_store.list_tasks(conn, workspace.id)}
    assert (rows[cy, tasks["review2"]].progress, rows[cy, tasks["review2"]].completed_at) == (
        2, NOW + timedelta(minutes=3))  # the second review, not the last event of the batch
    assert (rows[di, tasks["review2"]].progress, rows[di, tasks["review2"]].completed_at) == (
        2, NOW + timedelta(minutes=5))
    assert (rows[cy, tasks["profile"]].progress, rows[cy, tasks["profile"]].completed) == (1, False)
    assert [e["task"] for e in completed_events(runtime, workspace)] == ["review2", "review2"]
