"""Triggers on both databases: segment entered / exited (the events real-time evaluation writes), a
date trait with an offset at a local time every year, a cron schedule over a segment, and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.journeys import schedules
from siyu.runtime import Runtime
from siyu.worker import run_pass
from tests.journeys.scenario import NOON, email, entries, live, person, queued, quiet_policy, run, subject, track


def _segment(client: Any, workspace: Any, name: str, definition: dict[str, Any]) -> int:
    saved = client.post("/api/segments", headers=workspace.bearer(), json={"name": name, "definition": definition})
    assert saved.status_code == 201, saved.text
    return saved.json()["id"]


def test_entering_and_leaving_a_segment_in_real_time_enters_journeys(runtime: Runtime, client: Any,
                                                                     workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    person(client, workspace, "early")  # already a member when the segment is saved: no event, no entry
    track(client, workspace, "early", "Order Completed")
    buyers = _segment(client, workspace, "买过", {"event": "Order Completed", "did": True})
    welcome = live(client, workspace, {"trigger": {"segment": buyers},
                                       "steps": [{"id": "hi", "send": email("欢迎成为买家")}]}, "in")
    refund = live(client, workspace, {"trigger": {"segment": buyers, "on": "exited"}, "entry": {"rule": "every_time"},
                                      "steps": [{"id": "sorry", "send": email("退款了")}]}, "out")
    person(client, workspace, "newbie")
    track(client, workspace, "newbie", "Order Completed")
    run_pass(runtime)  # real-time segments write Segment Entered; the journeys read it next pass
    run_pass(runtime)
    assert [subject(m) for m in queued(runtime, workspace, welcome["id"])] == ["欢迎成为买家"]
    assert queued(runtime, workspace, refund["id"]) == []
    segment = client.patch(f"/api/segments/{buyers}", headers=workspace.bearer(),
                           json={"definition": {"event": "Order Completed", "measure": "count", "op": "gte",
                                                "value": 5}})
    assert segment.status_code == 200, segment.text
    run(runtime, workspace)
    assert len(queued(runtime, workspace, refund["id"])) == 2  # both left the segment


def test_a_birthday_trigger_fires_three_days_before_at_ten_every_year(runtime: Runtime, client: Any,
                                                                      workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)  # 2026-11-11 12:00 in Shanghai
    person(client, workspace, "soon", birthday="1990-11-14")
    person(client, workspace, "later", birthday="1995-11-20")
    person(client, workspace, "no-date", birthday="unknown")
    journey = live(client, workspace, {
        "trigger": {"date_trait": "birthday", "offset": "-3d", "at": "10:00"}, "entry": {"rule": "once_per",
                                                                                         "period": "300d"},
        "steps": [{"id": "gift", "send": email("生日快乐")}]})
    run(runtime, workspace)  # published at 12:00: today's 10:00 firing is for 14 November birthdays
    assert [e["entry_key"] for e in entries(runtime, workspace, journey["id"])] == \
        [f"date:2026-11-11:{e['profile_id']}" for e in entries(runtime, workspace, journey["id"])]
    assert len(queued(runtime, workspace, journey["id"])) == 1
    clock.freeze(NOON + timedelta(days=6) - timedelta(hours=3))  # 17 November 09:00: not yet
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 1
    clock.advance(timedelta(hours=1))
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 2
    clock.freeze(NOON + timedelta(days=365))  # a year on, 11 November 2027: again, each on their day
    run(runtime, workspace)
    assert len(entries(runtime, workspace, journey["id"])) == 3
    clock.advance(timedelta(days=6))
    run(runtime, workspace)
    assert [e["entry_key"].split(":")[1] for e in entries(runtime, workspace, journey["id"])] == \
        ["2026-11-11", "2026-11-17", "2027-11-11", "2027-11-17"]


def test_a_cron_schedule_enters_the_segment_members_once_per_firing(runtime: Runtime, client: Any, workspace: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedules, "CHUNK", 2)  # three members: a full chunk, then the rest
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    for user in ("a", "b", "c"):
        person(client, workspace, user, city="上海")
    person(client, workspace, "d", city="北京")
    shanghai = _segment(client, workspace, "上海", {"trait": "city", "op": "eq", "value": "上海"})
    journey = live(client, workspace, {"trigger": {"schedule": "0 10 * * 1", "segment": shanghai},
                                       "entry": {"rule": "every_time"},
                                       "steps": [{"id": "weekly", "send": email("周一好物")}]})
    run(runtime, workspace)
    assert entries(runtime, workspace, journey["id"]) == []
    clock.freeze(NOON + timedelta(days=5) - timedelta(hours=2))  # Monday 16 November 10:00
    run(runtime, workspace)
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 3
    clock.advance(timedelta(days=14))  # two Mondays later: only the latest firing runs
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 6


def test_the_api_trigger_enters_once_per_idempotency_key(runtime: Runtime, client: Any, workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    lina, wei = person(client, workspace, "lina"), person(client, workspace, "wei")
    journey = live(client, workspace, {"trigger": {"api": True}, "entry": {"rule": "every_time"},
                                       "steps": [{"id": "hi", "send": email("你好")}]})
    url = f"/api/journeys/{journey['id']}/entries"
    first = client.post(url, headers=workspace.bearer(), json={"profile_id": lina, "idempotency_key": "crm-1",
                                                               "properties": {"from": "crm"}})
    assert first.status_code == 201, first.text
    again = client.post(url, headers=workspace.bearer(), json={"profile_id": lina, "idempotency_key": "crm-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    other = client.post(url, headers=workspace.bearer(), json={"profile_id": wei, "idempotency_key": "crm-1"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "journeys.idempotency_conflict"
    assert client.post(url, headers=workspace.bearer(), json={"profile_id": wei, "idempotency_key": "crm-2"}
                       ).status_code == 201
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 2
    missing = client.post(url, headers=workspace.bearer(), json={"profile_id": 2**40, "idempotency_key": "x"})
    assert missing.status_code == 404
