"""Scenarios for the date-gift templates (anniversary, Spring Festival, Double 11 and 618 warm-ups)
and the points-expiry reminder, run by tests/journeys/test_templates.py with every other template on
both databases. The gifts are checked where they land: the anniversary's points in the member's
ledger, the reminder's figures in the rendered message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu import clock
from siyu.db.engine import read, write
from siyu.journeys import rewards
from siyu.loyalty import points_store
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.outbox import TEMPLATE_KEY
from siyu.messaging.render import EVENT_KEY, render_for, signing_of
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.journeys.scenario import entries, person, queued, run, subject, track


def _subjects(runtime: Runtime, workspace: Any, journey: dict[str, Any]) -> list[str]:
    return [subject(m, "en") for m in queued(runtime, workspace, journey["id"])]


def _programme(client: Any, workspace: Any, **values: Any) -> None:
    ladder = [{"name": "普卡", "threshold": 0}, {"name": "银卡", "threshold": 1000}]
    saved = client.put("/api/loyalty/programme", headers=workspace.bearer(), json={"tiers": ladder, **values})
    assert saved.status_code == 200, saved.text


def _member(client: Any, workspace: Any, profile_id: int) -> dict[str, Any]:
    return client.get(f"/api/loyalty/members/{profile_id}", headers=workspace.bearer()).json()


def _anniversary(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    _programme(client, workspace)
    lina = person(client, workspace, "loyal", member_since="2024-11-11", name="Lina")
    person(client, workspace, "joined-today", member_since="2026-11-11")  # no anniversary on the day itself
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Happy membership anniversary"]
    [entry] = entries(runtime, workspace, journey["id"])
    member = _member(client, workspace, lina)
    assert member["member"]["points_balance"] == 200  # what the message says arrived
    assert [(e["kind"], e["points"], e["reason"]) for e in member["entries"]] == [
        ("earn", 200, f"journey:{journey['id']}")]
    # The step run again for the same entry (a retry after a crash between the credit and the commit
    # rolls both back; one after the commit finds the key): nothing more.
    key = f"journey:{journey['id']}:{entry['version']}:points:{entry['id']}"
    assert member["entries"][0]["idempotency_key"] == key
    with write(runtime.engine) as conn:
        again = rewards.give(conn, rewards.RewardRequest(workspace.id, lina, "points", {"amount": 200}, key,
                                                         clock.now()))
    run(runtime, workspace)
    assert again == "reward.given"
    assert _member(client, workspace, lina)["member"]["points_balance"] == 200
    with read(runtime.engine) as conn:
        assert points_store.ledger_totals(conn, workspace.id, lina) == (200, 200)  # ledger and lots agree
    stats = client.get(f"/api/journeys/{journey['id']}/stats", headers=workspace.bearer()).json()
    assert {s["step"]: s for s in stats["steps"]}["points"]["outcomes"] == {"reward.given": 1}


def _spring_festival(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "family")
    clock.freeze(datetime(2027, 2, 3, 1, 59, tzinfo=UTC))  # 09:59 in Shanghai, 3 days before 6 February 2027
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == []
    clock.advance(timedelta(minutes=1))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Happy Spring Festival"]


def _double_11(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "shopper")
    clock.freeze(datetime(2027, 11, 8, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai on 8 November
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Double 11 warm-up: coupons first"]
    clock.advance(timedelta(days=2))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Double 11 warm-up: coupons first", "Tonight at midnight"]


def _618(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "shopper")
    person(client, workspace, "early-bird")
    clock.freeze(datetime(2027, 6, 15, 11, 59, tzinfo=UTC))  # 19:59 in Shanghai, 3 days before 18 June
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == []
    clock.advance(timedelta(minutes=1))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["618 warm-up: coupons first"] * 2
    track(client, workspace, "early-bird", "Order Completed", total=199)
    clock.advance(timedelta(days=2))
    run(runtime, workspace)
    assert sorted(_subjects(runtime, workspace, journey)) == ["618 warm-up: coupons first"] * 2 + [
        "Tonight at midnight"]  # only for who hasn't ordered


def _points_expiring(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    """The whole chain: a programme, an order earning points, time passing, the nightly run writing
    ``Points Expiring``, and the journey on it queueing the reminder with that person's figures."""
    _programme(client, workspace, earning={"per_yuan": 1}, remind_days=7, expiry={"mode": "rolling", "days": 20})
    buyer = person(client, workspace, "buyer")
    track(client, workspace, "buyer", "Order Completed", order_id="E1", revenue=88)  # lot expires 1 December
    assert client.post("/api/loyalty/run", headers=workspace.bearer()).status_code == 200
    assert _member(client, workspace, buyer)["member"]["points_balance"] == 88
    clock.advance(timedelta(days=12))  # 23 November: the lot expires in 8 days, no reminder yet
    client.post("/api/loyalty/run", headers=workspace.bearer())
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == []
    clock.advance(timedelta(days=2))  # 25 November: within 7 days
    assert client.post("/api/loyalty/run", headers=workspace.bearer()).json()["nightly"]["reminders"] == 1
    run(runtime, workspace)
    [message] = queued(runtime, workspace, journey["id"])
    assert subject(message, "en") == "Your points are about to expire"
    assert message["payload"][EVENT_KEY]["properties"]["points"] == 88
    with read(runtime.engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace.id)
        rendered = render_for(conn, ws, buyer, Channel.EMAIL, Purpose.MARKETING, message["payload"][TEMPLATE_KEY],
                              event=message["payload"][EVENT_KEY], signing=signing_of(runtime))
    text = rendered.payload["text"]
    assert "你有 88 积分将于 2026年12月1日 过期" in text  # the person's language (zh) and the workspace's zone
    assert "/m/" in text  # their member centre link
    clock.advance(timedelta(days=1))
    client.post("/api/loyalty/run", headers=workspace.bearer())
    run(runtime, workspace)
    assert len(queued(runtime, workspace, journey["id"])) == 1  # a lot is reminded of once


DATE_GIFT_SCENARIOS: dict[str, Callable[[Runtime, Any, Any, dict[str, Any]], None]] = {
    "anniversary": _anniversary, "spring_festival": _spring_festival, "double_11_warmup": _double_11,
    "618_warmup": _618, "points_expiring": _points_expiring,
}
