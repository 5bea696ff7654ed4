"""A broadcast's goal and holdout, on both databases: a fixed random share of the members the policy
would reach is kept back (written ``stopped`` with ``broadcast.holdout`` when the broadcast fans out),
and the goal event within its window after each member's message counts as their conversion, with
the revenue it carries — for those sent to and those kept back, and the lift between them. Then the
pure rules with plain values, and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging import broadcast_goals as goals
from siyu.messaging import broadcasts, delivery
from siyu.runtime import Runtime
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_broadcasts import audience
from tests.messaging.test_delivery import webhook_channel

NOON = datetime(2026, 11, 9, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, outside quiet hours either way


@pytest.fixture
def hook(runtime: Runtime, workspace: Any) -> Iterator[WebhookSink]:
    with webhook_channel(runtime, workspace.id) as sink:
        yield sink


def order(runtime: Runtime, workspace: Any, user: str, at: datetime, **properties: Any) -> None:
    event = parse_message({"type": "track", "userId": user, "event": "Order Completed", "properties": properties,
                           "timestamp": at.isoformat()}, received_at=at)
    with write(runtime.engine) as conn:
        ingest(conn, workspace.id, [event], rules=DEFAULT_RULES)


def test_conversions_and_revenue_of_those_sent_to_against_those_kept_back(runtime: Runtime, client: Any,
                                                                           workspace: Any, hook: WebhookSink) -> None:
    clock.freeze(NOON)
    people, segment_id = audience(runtime, client, workspace, 200)
    user_of = {pid: f"b{n}" for n, pid in enumerate(people)}  # ingested in order: ids ascend with n
    created = client.post("/api/broadcasts", headers=workspace.bearer(), json={
        "name": "双11 回购", "segment_id": segment_id, "channel": "webhook", "content": {"campaign": "1111"},
        "goal": {"event": "Order Completed", "where": [{"property": "total", "op": "gte", "value": 100}],
                 "within": "3d"},
        "holdout_percent": 20})
    assert created.status_code == 201, created.text
    broadcast = created.json()
    assert broadcast["conversions"]["treatment"]["people"] == 0 and broadcast["conversions"]["counting"]
    kept = [pid for pid in people if goals.held_out(20, broadcast["id"], pid)]
    assert 20 <= len(kept) <= 60  # about a fifth of 200

    assert broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id) == 200
    assert delivery.deliver_round(runtime, workspace_id=workspace.id, limit=1000).sent == 200 - len(kept)
    assert sorted(body["profile_id"] for _, body in hook.deliveries) == sorted(set(people) - set(kept))
    shown = client.get(f"/api/broadcasts/{broadcast['id']}", headers=workspace.bearer()).json()
    assert shown["figures"]["stopped:broadcast.holdout"] == len(kept)

    sent_to = [pid for pid in people if pid not in kept]
    day = timedelta(days=1)
    for pid in sent_to[:10]:  # converted: within three days, a big enough order
        order(runtime, workspace, user_of[pid], NOON + day, total=199)
    order(runtime, workspace, user_of[sent_to[0]], NOON + 2 * day, total=101.5)  # a second order adds revenue
    order(runtime, workspace, user_of[sent_to[10]], NOON + day, total=59)  # too small: no conversion
    order(runtime, workspace, user_of[sent_to[11]], NOON + 4 * day, total=199)  # after the window
    order(runtime, workspace, user_of[sent_to[12]], NOON - day, total=199)  # before the message
    for pid in kept[:2]:
        order(runtime, workspace, user_of[pid], NOON + day, total=150)

    clock.advance(2 * day)
    counted = client.get(f"/api/broadcasts/{broadcast['id']}", headers=workspace.bearer()).json()["conversions"]
    assert counted["treatment"] == {"people": 200 - len(kept), "converted": 10,
                                    "rate": 10 / (200 - len(kept)), "revenue": 10 * 199 + 101.5}
    assert counted["holdout"] == {"people": len(kept), "converted": 2, "rate": 2 / len(kept), "revenue": 300}
    assert counted["lift"] == pytest.approx((10 / (200 - len(kept)) - 2 / len(kept)) / (2 / len(kept)))
    assert counted["counting"] is True
    clock.advance(2 * day)  # past the window: the figures are final, and the late order did not count
    final = client.get(f"/api/broadcasts/{broadcast['id']}", headers=workspace.bearer()).json()["conversions"]
    assert final["counting"] is False and final["treatment"]["converted"] == 10

    # The fan-out run again (a worker after a crash) keeps the same people back: the holdout is sticky.
    assert all(goals.held_out(20, broadcast["id"], pid) for pid in kept)


def test_a_broadcast_without_a_goal_measures_nothing(runtime: Runtime, client: Any, workspace: Any) -> None:
    _, segment_id = audience(runtime, client, workspace, 3)
    shown = client.post("/api/broadcasts", headers=workspace.bearer(), json={
        "name": "x", "segment_id": segment_id, "channel": "webhook", "content": {"a": "1"}}).json()
    assert (shown["goal"], shown["holdout_percent"], shown["conversions"]) == (None, 0, None)


def test_goal_and_holdout_refusals_name_their_field(runtime: Runtime, client: Any, workspace: Any) -> None:
    _, segment_id = audience(runtime, client, workspace, 3)
    for extra, field in (({"goal": {"within": "7d"}}, "goal.event"),
                         ({"goal": {"event": "Order Completed", "within": "soon"}}, "goal.within"),
                         ({"goal": {"event": "Order Completed", "within": "999999w"}}, "goal.within"),
                         ({"goal": {"event": "Order Completed", "when": "7d"}}, "goal.when"),
                         ({"holdout_percent": 10}, "holdout_percent")):
        refused = client.post("/api/broadcasts", headers=workspace.bearer(), json={
            "name": "x", "segment_id": segment_id, "channel": "webhook", "content": {"a": "1"}, **extra})
        assert refused.status_code == 422, (extra, refused.text)
        error = refused.json()["error"]
        assert (error["code"], error["details"]["field"]) == ("messaging.invalid", field), (extra, error)
    for extra, location in (({"goal": {"event": "Order Completed"}, "holdout_percent": 60}, "body.holdout_percent"),
                            ({"goal": "Order Completed"}, "body.goal")):  # the request's shape: its validator
        refused = client.post("/api/broadcasts", headers=workspace.bearer(), json={
            "name": "x", "segment_id": segment_id, "channel": "webhook", "content": {"a": "1"}, **extra})
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["details"]["problems"][0]["location"] == location
    assert client.get("/api/broadcasts", headers=workspace.bearer()).json() == []


def test_the_holdout_is_the_share_asked_for_and_sticky() -> None:
    kept = [pid for pid in range(1, 20_001) if goals.held_out(10, 7, pid)]
    assert 1_850 <= len(kept) <= 2_150
    assert kept == [pid for pid in range(1, 20_001) if goals.held_out(10, 7, pid)]
    assert not any(goals.held_out(0, 7, pid) for pid in range(1, 1_000))
    assert kept != [pid for pid in range(1, 20_001) if goals.held_out(10, 8, pid)]  # each broadcast its own


def test_measure_counts_each_member_once_within_the_window() -> None:
    t0 = datetime(2026, 11, 11, tzinfo=UTC)
    goal = {"event": "Order Completed", "within": "1d"}
    members = [(1, "treatment", t0), (2, "treatment", t0), (3, "holdout", t0), (4, "holdout", t0)]
    found = [(1, t0 + timedelta(hours=1), {"revenue": 10, "total": 12}), (1, t0 + timedelta(hours=2), {"total": 5}),
             (2, t0 + timedelta(days=2), {"total": 99}), (3, t0 + timedelta(hours=3), {"total": "n/a"}),
             (9, t0, {"total": 1})]
    measured = goals.measure(goal, members, found, t0 + timedelta(days=3), 50)
    assert measured["treatment"] == {"people": 2, "converted": 1, "rate": 0.5, "revenue": 15}
    assert measured["holdout"] == {"people": 2, "converted": 1, "rate": 0.5, "revenue": 0}
    assert measured["lift"] == 0 and measured["counting"] is False
    nobody = goals.measure(goal, [(1, "treatment", t0)], [], t0, 0)
    assert nobody["holdout"] == {"people": 0, "converted": 0, "rate": None, "revenue": 0}
    assert nobody["lift"] is None and nobody["counting"] is True
