"""A profile merge carries the person's running state to the survivor (both databases, through the
ingest API): journey entries (goals, once-only rules), staff tasks and one-time subscriptions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from siyu import clock
from siyu.runtime import Runtime
from tests.journeys.scenario import NOON, email, entries, live, person, queued, quiet_policy, run, track

JOURNEY = {"trigger": {"event": "Product Viewed"}, "goal": {"event": "Order Completed", "within": "7d"},
           "steps": [{"id": "call", "task": {"title": "电话回访"}}, {"id": "later", "wait": "1d"},
                     {"id": "nudge", "send": email("还在考虑吗")}]}


def _anonymous(client: Any, workspace: Any, anonymous_id: str, event: str) -> int:
    sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={"anonymousId": anonymous_id, "event": event})
    assert sent.status_code == 200, sent.text
    return _owner(client, workspace, "anonymous_id", anonymous_id)


def _owner(client: Any, workspace: Any, kind: str, value: str) -> int:
    found = client.get("/api/profiles/lookup", params={"type": kind, "value": value}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def _merge(client: Any, workspace: Any, user: str, anonymous_id: str) -> None:
    """An identify carrying both identifiers: the newer profile folds into the older."""
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": user,
                                                                              "anonymousId": anonymous_id})
    assert sent.status_code == 200, sent.text


def test_the_survivor_converts_and_is_held_by_the_merged_away_entry(runtime: Runtime, client: Any,
                                                                    workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")  # B: known first, so the survivor
    journey = live(client, workspace, JOURNEY)
    browser = _anonymous(client, workspace, "web-1", "Product Viewed")  # A: enters on their own
    run(runtime, workspace)
    [entry] = entries(runtime, workspace, journey["id"])
    assert (entry["profile_id"], entry["status"]) == (browser, "waiting")
    granted = client.post("/api/messages/subscribe-grants", headers=workspace.bearer(), json={
        "profile_id": browser, "template_id": "tplArrival", "granted_at": NOON.isoformat(), "idempotency_key": "g1"})
    assert granted.status_code == 201, granted.text

    _merge(client, workspace, "lina", "web-1")
    assert _owner(client, workspace, "anonymous_id", "web-1") == lina != browser
    [entry] = entries(runtime, workspace, journey["id"])
    assert (entry["profile_id"], entry["status"]) == (lina, "waiting")
    tasks = client.get("/api/staff-tasks", params={"profile_id": lina}, headers=workspace.bearer()).json()
    assert [t["title"] for t in tasks] == ["电话回访"]
    grants = client.get("/api/messages/subscribe-grants", params={"profile_id": lina}, headers=workspace.bearer())
    assert [g["template_id"] for g in grants.json()] == ["tplArrival"]

    clock.freeze(NOON + timedelta(hours=1))
    track(client, workspace, "lina", "Product Viewed")  # once ever: the merged-away entry counts as hers
    track(client, workspace, "lina", "Order Completed", total=89)
    run(runtime, workspace)
    [entry] = entries(runtime, workspace, journey["id"])
    assert (entry["profile_id"], entry["status"]) == (lina, "converted")
    stats = client.get(f"/api/journeys/{journey['id']}/stats", headers=workspace.bearer()).json()
    assert (stats["entered"], stats["converted"]) == (1, 1)


def test_when_both_were_inside_the_survivors_entry_goes_on_and_the_other_exits(runtime: Runtime, client: Any,
                                                                              workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")
    journey = live(client, workspace, JOURNEY)
    browser = _anonymous(client, workspace, "web-2", "Product Viewed")
    track(client, workspace, "lina", "Product Viewed")
    run(runtime, workspace)
    assert sorted(e["profile_id"] for e in entries(runtime, workspace, journey["id"])) == sorted([lina, browser])

    _merge(client, workspace, "lina", "web-2")
    found = {e["id"]: e for e in entries(runtime, workspace, journey["id"])}
    assert {e["profile_id"] for e in found.values()} == {lina}
    assert sorted((e["status"], e["exit_reason"]) for e in found.values()) == [
        ("exited", "profile.merged"), ("waiting", None)]
    clock.freeze(NOON + timedelta(days=1, minutes=1))
    run(runtime, workspace)  # one person, one reminder
    assert len(queued(runtime, workspace, journey["id"])) == 1
    tasks = client.get("/api/staff-tasks", params={"profile_id": lina}, headers=workspace.bearer()).json()
    assert len(tasks) == 2  # both calls were asked for before the merge: staff see both, on one person
