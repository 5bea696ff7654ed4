"""Journeys running on both databases: events in through the ingest API, time moved forward, and
what the engine did — entries, waits, branches, sends with their outbox keys, conversions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, journey_step_visits, staff_tasks
from siyu.journeys import rewards
from siyu.runtime import Runtime
from tests.journeys.scenario import NOON, email, entries, live, person, queued, quiet_policy, run, subject, track


def test_an_event_enters_a_person_who_waits_then_gets_one_message_per_step(runtime: Runtime, client: Any,
                                                                           workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")
    journey = live(client, workspace, {
        "trigger": {"event": "Followed"},
        "steps": [{"id": "hello", "send": email("欢迎")},
                  {"id": "wait", "wait": {"duration": "1d", "at": "10:00"}},
                  {"id": "tips", "send": email("小贴士")}]})
    track(client, workspace, "lina", "Page Viewed")
    track(client, workspace, "lina", "Followed")
    report = run(runtime, workspace)
    assert (report.entered, report.advance.advanced) == (1, 1)
    sent = queued(runtime, workspace, journey["id"])
    [entry] = entries(runtime, workspace, journey["id"])
    assert [subject(m) for m in sent] == ["欢迎"]
    assert sent[0]["idempotency_key"] == f"journey:{journey['id']}:1:hello:{entry['id']}"
    assert sent[0]["profile_id"] == lina
    assert (entry["status"], entry["step"]) == ("waiting", "wait")
    assert entry["due_at"] == NOON + timedelta(hours=22)  # tomorrow 10:00 Shanghai = 02:00 UTC

    clock.advance(timedelta(hours=21))
    assert run(runtime, workspace).advance.advanced == 0  # not due yet
    clock.advance(timedelta(hours=1))
    run(runtime, workspace)
    assert [subject(m) for m in queued(runtime, workspace, journey["id"])] == ["欢迎", "小贴士"]
    [entry] = entries(runtime, workspace, journey["id"])
    assert (entry["status"], entry["step"]) == ("completed", None)
    assert run(runtime, workspace).advance.advanced == 0


def test_wait_for_an_event_takes_the_event_branch_or_the_timeout_branch(runtime: Runtime, client: Any,
                                                                         workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    for user in ("buyer", "browser"):
        person(client, workspace, user)
    journey = live(client, workspace, {
        "trigger": {"event": "Product Added"}, "entry": {"rule": "every_time"},
        "steps": [{"id": "bought", "wait_for": {"event": "Order Completed", "where": [
                      {"property": "total", "op": "gte", "value": 50}], "timeout": "24h"},
                   "on_event": "thanks", "on_timeout": "nudge"},
                  {"id": "nudge", "send": email("购物车提醒"), "next": "end"},
                  {"id": "thanks", "send": email("谢谢")}]})
    track(client, workspace, "buyer", "Product Added")
    track(client, workspace, "browser", "Product Added")
    run(runtime, workspace)
    clock.advance(timedelta(hours=2))
    track(client, workspace, "buyer", "Order Completed", total=10)  # below the filter: not the awaited event
    track(client, workspace, "buyer", "Order Completed", total=88)
    report = run(runtime, workspace)
    assert report.woken == 1
    assert [subject(m) for m in queued(runtime, workspace, journey["id"])] == ["谢谢"]
    clock.advance(timedelta(hours=22))
    run(runtime, workspace)
    assert sorted(subject(m) for m in queued(runtime, workspace, journey["id"])) == ["谢谢", "购物车提醒"]
    with read(runtime.engine) as conn:
        outcomes = dict(conn.execute(select(journey_step_visits.c.outcome, journey_step_visits.c.entry_id).where(
            journey_step_visits.c.workspace_id == workspace.id, journey_step_visits.c.step == "bought")).all())
    assert set(outcomes) == {"event", "timeout"}


def test_a_timed_out_wait_checks_the_log_for_an_event_the_pass_did_not_see(runtime: Runtime, client: Any,
                                                                           workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "racer")
    journey = live(client, workspace, {
        "trigger": {"event": "Product Added"},
        "steps": [{"id": "bought", "wait_for": {"event": "Order Completed", "timeout": "1h"},
                   "on_event": "thanks", "on_timeout": "nudge"},
                  {"id": "nudge", "send": email("提醒"), "next": "end"},
                  {"id": "thanks", "send": email("谢谢")}]})
    track(client, workspace, "racer", "Product Added")
    run(runtime, workspace)
    clock.advance(timedelta(minutes=30))
    track(client, workspace, "racer", "Order Completed")
    clock.advance(timedelta(hours=1))
    # As if the event pass had not reached the order yet (another worker, a long batch): advance only.
    from siyu.journeys import runner

    runner.advance_due(runtime.engine, workspace_id=workspace.id)
    assert [subject(m) for m in queued(runtime, workspace, journey["id"])] == ["谢谢"]


def test_condition_branches_use_the_segment_language_for_the_one_person(runtime: Runtime, client: Any,
                                                                         workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "vip", city="上海")
    person(client, workspace, "new", city="北京")
    track(client, workspace, "vip", "Order Completed", total=900)
    journey = live(client, workspace, {
        "trigger": {"event": "Coupon Viewed"}, "entry": {"rule": "every_time"},
        "steps": [{"id": "big-spender", "condition": {"all": [
                      {"event": "Order Completed", "measure": "sum", "property": "total", "op": "gte", "value": 500},
                      {"trait": "city", "op": "eq", "value": "上海"}]}, "then": "vip", "else": "regular"},
                  {"id": "vip", "send": email("VIP 专享"), "next": "end"},
                  {"id": "regular", "send": email("新客礼")}]})
    track(client, workspace, "vip", "Coupon Viewed")
    track(client, workspace, "new", "Coupon Viewed")
    run(runtime, workspace)
    by_person = {m["profile_id"]: subject(m) for m in queued(runtime, workspace, journey["id"])}
    assert sorted(by_person.values()) == ["VIP 专享", "新客礼"]


def test_tags_traits_tasks_webhooks_and_rewards_go_through_their_capabilities(runtime: Runtime, client: Any,
                                                                              workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")
    assert client.post("/api/tags", headers=workspace.bearer(), json={"name": "潜客"}).status_code == 201
    assert client.post(f"/api/profiles/{lina}/tags", headers=workspace.bearer(), json={"add": ["潜客"]}).json() == \
        ["潜客"]
    journey = live(client, workspace, {
        "trigger": {"event": "Signed Up"},
        "steps": [{"id": "tag", "tag": {"add": ["会员"], "remove": ["潜客", "没有这个标签"]}},
                  {"id": "trait", "set_trait": {"member_level": "silver", "welcomed": True}},
                  {"id": "coupon", "give_coupon": {"offer": "WELCOME10"}},
                  {"id": "points", "give_points": {"amount": 50}},
                  {"id": "hook", "webhook": {"kind": "new-member"}},
                  {"id": "call", "task": {"title": "欢迎电话", "note": "介绍会员权益", "due": "2d"}}]})
    saved = client.put("/api/loyalty/programme", headers=workspace.bearer(),
                       json={"tiers": [{"name": "普卡", "threshold": 0}]})
    assert saved.status_code == 200, saved.text
    track(client, workspace, "lina", "Signed Up")
    run(runtime, workspace)
    detail = client.get(f"/api/profiles/{lina}", headers=workspace.bearer()).json()
    assert sorted(t["name"] for t in detail["tags"]) == ["会员"]
    assert (detail["traits"]["member_level"], detail["traits"]["welcomed"]) == ("silver", True)
    with read(runtime.engine) as conn:
        history = [r.name for r in conn.execute(select(events.c.name).where(
            events.c.workspace_id == workspace.id, events.c.profile_id == lina).order_by(events.c.id))]
        tasks = conn.execute(select(staff_tasks).where(staff_tasks.c.workspace_id == workspace.id)).all()
        outcomes = dict(conn.execute(select(journey_step_visits.c.step, journey_step_visits.c.outcome).where(
            journey_step_visits.c.workspace_id == workspace.id)).all())
    assert {"Tag Added", "Tag Removed", "Traits Changed"} <= set(history)
    assert [(t.title, t.status, t.due_at, t.profile_id) for t in tasks] == [("欢迎电话", "open",
                                                                            NOON + timedelta(days=2), lina)]
    listed = client.get("/api/staff-tasks", params={"status": "open", "profile_id": lina}, headers=workspace.bearer())
    assert [(t["title"], t["note"], t["source"]) for t in listed.json()] == [("欢迎电话", "介绍会员权益",
                                                                               f"journey:{journey['id']}")]
    assert client.get("/api/staff-tasks", params={"status": "done"}, headers=workspace.bearer()).json() == []
    [entry] = entries(runtime, workspace, journey["id"])
    detail = client.get(f"/api/journeys/{journey['id']}/entries/{entry['id']}", headers=workspace.bearer()).json()
    assert [(v["step"], v["outcome"]) for v in detail["visits"]] == [
        ("tag", "tagged"), ("trait", "traits_set"), ("coupon", "reward.unavailable"), ("points", "reward.given"),
        ("hook", "queued"), ("call", "task_created")]
    assert detail["context"]["event"]["name"] == "Signed Up"
    assert outcomes["coupon"] == "reward.unavailable"  # no offer WELCOME10 here: recorded, and on we go
    assert outcomes["points"] == "reward.given"  # through the points ledger (siyu.loyalty.journey_rewards)
    member = client.get(f"/api/loyalty/members/{lina}", headers=workspace.bearer()).json()
    assert [(e["points"], e["reason"]) for e in member["entries"]] == [(50, f"journey:{journey['id']}")]
    [hook] = queued(runtime, workspace, journey["id"])
    assert (hook["channel"], hook["purpose"], hook["payload"]["data"]) == ("webhook", "transactional",
                                                                           {"kind": "new-member"})
    assert entries(runtime, workspace, journey["id"])[0]["status"] == "completed"


def test_goal_events_convert_and_end_the_journey_within_the_window(runtime: Runtime, client: Any,
                                                                   workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    for user in ("quick", "late", "never"):
        person(client, workspace, user)
    journey = live(client, workspace, {
        "trigger": {"event": "Product Viewed"}, "goal": {"event": "Order Completed", "within": "3d"},
        "steps": [{"id": "wait", "wait": "2d"}, {"id": "nudge", "send": email("还在考虑吗")}]})
    for user in ("quick", "late", "never"):
        track(client, workspace, user, "Product Viewed")
    run(runtime, workspace)
    clock.advance(timedelta(days=1))
    track(client, workspace, "quick", "Order Completed")
    assert run(runtime, workspace).converted == 1
    clock.advance(timedelta(days=1))
    run(runtime, workspace)  # the others get the nudge; quick left the journey
    clock.advance(timedelta(days=2))
    track(client, workspace, "late", "Order Completed")  # 4 days after entering: outside the window
    assert run(runtime, workspace).converted == 0
    statuses = sorted(e["status"] for e in entries(runtime, workspace, journey["id"]))
    assert statuses == ["completed", "completed", "converted"]
    assert len(queued(runtime, workspace, journey["id"])) == 2


def test_entry_rules_once_once_per_period_and_every_time(runtime: Runtime, client: Any, workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "fan")
    steps = [{"id": "hello", "send": email("你好")}]
    once = live(client, workspace, {"trigger": {"event": "Ping"}, "steps": steps}, "once")
    monthly = live(client, workspace, {"trigger": {"event": "Ping"}, "entry": {"rule": "once_per", "period": "30d"},
                                       "steps": steps}, "monthly")
    always = live(client, workspace, {"trigger": {"event": "Ping"}, "entry": {"rule": "every_time"},
                                      "steps": steps}, "always")
    for days in (0, 1, 31):
        clock.freeze(NOON + timedelta(days=days))
        track(client, workspace, "fan", "Ping")
        track(client, workspace, "fan", "Ping")
        run(runtime, workspace)
    counts = {j["name"]: len(entries(runtime, workspace, j["id"])) for j in (once, monthly, always)}
    assert counts == {"once": 1, "monthly": 2, "always": 6}


def test_holdout_people_are_entered_and_measured_but_never_messaged(runtime: Runtime, client: Any,
                                                                    workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    journey = live(client, workspace, {
        "trigger": {"event": "Joined"}, "holdout_percent": 50, "goal": {"event": "Order Completed", "within": "7d"},
        "steps": [{"id": "hello", "send": email("你好")}]})
    for n in range(40):
        person(client, workspace, f"p{n}")
        track(client, workspace, f"p{n}", "Joined")
    run(runtime, workspace)
    found = entries(runtime, workspace, journey["id"])
    holdout = {e["profile_id"] for e in found if e["cohort"] == "holdout"}
    assert 8 <= len(holdout) <= 32  # 50% of 40, deterministic per person
    assert {m["profile_id"] for m in queued(runtime, workspace, journey["id"])} == \
        {e["profile_id"] for e in found} - holdout
    assert all(e["status"] == "waiting" for e in found if e["cohort"] == "holdout")
    clock.advance(timedelta(days=7))
    run(runtime, workspace)
    assert all(e["status"] == "completed" and e["exit_reason"] == "holdout"
               for e in entries(runtime, workspace, journey["id"]) if e["cohort"] == "holdout")


def test_people_inside_stay_on_their_version_when_a_new_one_is_published(runtime: Runtime, client: Any,
                                                                         workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "early")
    person(client, workspace, "later")
    definition = {"trigger": {"event": "Joined"}, "goal": {"event": "Order Completed", "within": "7d"},
                  "steps": [{"id": "wait", "wait": "1d"}, {"id": "hello", "send": email("第一版")}]}
    journey = live(client, workspace, definition)
    track(client, workspace, "early", "Joined")
    run(runtime, workspace)
    definition["steps"][1]["send"] = email("第二版")
    edited = client.patch(f"/api/journeys/{journey['id']}", headers=workspace.bearer(), json={"definition": definition})
    assert edited.status_code == 200, edited.text
    assert client.post(f"/api/journeys/{journey['id']}/publish", headers=workspace.bearer()).json()["version"] == 2
    track(client, workspace, "later", "Joined")
    run(runtime, workspace)
    clock.advance(timedelta(days=1))
    run(runtime, workspace)
    assert sorted((e["version"], e["status"]) for e in entries(runtime, workspace, journey["id"])) == \
        [(1, "completed"), (2, "completed")]
    assert sorted(subject(m) for m in queued(runtime, workspace, journey["id"])) == ["第一版", "第二版"]
    v1 = client.get(f"/api/journeys/{journey['id']}/versions/1", headers=workspace.bearer()).json()
    assert v1["definition"]["steps"][1]["send"]["content"]["subject"] == "第一版"
    track(client, workspace, "early", "Order Completed")  # within version 1's window, after finishing it
    assert run(runtime, workspace).converted == 1
    assert sorted((e["version"], e["status"]) for e in entries(runtime, workspace, journey["id"])) == \
        [(1, "converted"), (2, "completed")]


def test_a_paused_journey_takes_nobody_and_holds_people_until_resumed(runtime: Runtime, client: Any,
                                                                       workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "a")
    person(client, workspace, "b")
    journey = live(client, workspace, {"trigger": {"event": "Joined"},
                                       "steps": [{"id": "wait", "wait": "1h"}, {"id": "hello", "send": email("你好")}]})
    track(client, workspace, "a", "Joined")
    run(runtime, workspace)
    assert client.post(f"/api/journeys/{journey['id']}/pause", headers=workspace.bearer()).status_code == 200
    track(client, workspace, "b", "Joined")
    clock.advance(timedelta(hours=2))
    run(runtime, workspace)
    assert len(entries(runtime, workspace, journey["id"])) == 1 and queued(runtime, workspace, journey["id"]) == []
    assert client.post(f"/api/journeys/{journey['id']}/resume", headers=workspace.bearer()).status_code == 200
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 1
    archived = client.post(f"/api/journeys/{journey['id']}/archive", headers=workspace.bearer())
    assert archived.json()["status"] == "archived"


def test_a_rerun_advance_never_queues_twice(runtime: Runtime, client: Any, workspace: Any) -> None:
    """What a worker killed after its send but before its commit would leave: the same step run again."""
    from siyu.db.tables import journey_entries
    from siyu.journeys import entry_store, runner
    from siyu.workspaces import store as workspace_store

    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "once")
    journey = live(client, workspace, {"trigger": {"event": "Joined"},
                                       "steps": [{"id": "hello", "send": email("一次")}]})
    track(client, workspace, "once", "Joined")
    run(runtime, workspace)
    with write(runtime.engine) as conn:  # rewind the entry to before its send
        conn.execute(journey_entries.update().where(journey_entries.c.workspace_id == workspace.id).values(
            status="active", step="hello", due_at=NOON, finished_at=None))
        entry = entry_store.claim_due(conn, clock.now(), workspace.id)
        runner.advance(conn, workspace_store.get_workspace(conn, workspace.id), entry, clock.now())
    assert len(queued(runtime, workspace, journey["id"])) == 1
    [entry_row] = entries(runtime, workspace, journey["id"])
    assert entry_row["status"] == "completed"


def test_policy_overrides_travel_with_the_message_and_apply_at_delivery(runtime: Runtime, client: Any,
                                                                        workspace: Any) -> None:
    from tests.messaging.fakes import WebhookSink
    from tests.messaging.test_delivery import SECRET, configure
    from tests.messaging.test_delivery import deliver as deliver_round

    hook = WebhookSink(SECRET)
    try:
        configure(runtime, workspace.id, hook_url=hook.url, caps=[{"limit": 10, "days": 1}])
        clock.freeze(NOON)
        fan = person(client, workspace, "fan")
        client.put(f"/api/profiles/{fan}/consent", headers=workspace.bearer(),
                   json={"channel": "webhook", "purpose": "marketing", "status": "granted"})
        hooks = [{"id": f"m{n}", "send": {"channel": "webhook", "content": {"n": n}}} for n in range(3)]
        journey = live(client, workspace, {"trigger": {"event": "Joined"}, "policy": {"caps": [{"limit": 1,
                                                                                                "days": 1}]},
                                           "steps": hooks})
        track(client, workspace, "fan", "Joined")
        run(runtime, workspace)
        report = deliver_round(runtime, workspace)
        assert (report.sent, report.stopped) == (1, 2), report
        assert [body["payload"] for _, body in hook.deliveries] == [{"n": 0}]  # no "$policy" reaches the channel
        # ... but it stays on the rows: a retry or a deferral is decided again under the journey's caps
        assert all(m["payload"].get("$policy") == {"caps": [{"limit": 1, "days": 1}]}
                   for m in queued(runtime, workspace, journey["id"]))
        assert {m["reason"] for m in queued(runtime, workspace, journey["id"])} == {None, "policy.frequency_cap"}
    finally:
        hook.stop()


def test_a_step_that_keeps_failing_is_retried_with_backoff_then_the_person_exits(
        runtime: Runtime, client: Any, workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "unlucky")
    journey = live(client, workspace, {"trigger": {"event": "Joined"},
                                       "steps": [{"id": "hi", "send": email("你好")},
                                                 {"id": "gift", "give_points": {"amount": 5}}]})

    def broken(conn: Any, request: rewards.RewardRequest) -> str:
        raise RuntimeError("points service down")

    # In place of the registered provider for this test only (monkeypatch puts loyalty's back after).
    monkeypatch.setitem(rewards._PROVIDERS, "points", broken)
    track(client, workspace, "unlucky", "Joined")
    report = run(runtime, workspace)
    assert (report.advance.advanced, report.advance.failed) == (0, 1)
    [entry] = entries(runtime, workspace, journey["id"])
    assert (entry["status"], entry["attempts"], entry["due_at"]) == ("active", 1, NOON + timedelta(minutes=1))
    assert queued(runtime, workspace, journey["id"]) == []  # the failed advance wrote nothing
    for minutes in (1, 2, 4, 8):
        clock.advance(timedelta(minutes=minutes))
        assert run(runtime, workspace).advance.failed == 1
    [entry] = entries(runtime, workspace, journey["id"])
    assert (entry["status"], entry["exit_reason"], entry["attempts"]) == ("exited", "journeys.step_failed", 5)
