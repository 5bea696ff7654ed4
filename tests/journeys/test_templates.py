"""Every ready template validates, publishes and runs: its trigger enters someone, time moves on,
and the messages it promises are queued, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.journeys import definitions, templates
from siyu.runtime import Runtime
from siyu.worker import run_pass
from tests.journeys.scenario import NOON, person, queued, quiet_policy, run, subject, track
from tests.journeys.test_date_gifts_templates import DATE_GIFT_SCENARIOS


def _from_template(client: Any, workspace: Any, key: str) -> dict[str, Any]:
    created = client.post("/api/journeys", headers=workspace.bearer(), json={"template": key, "language": "en"})
    assert created.status_code == 201, created.text
    definitions.parse(created.json()["draft"])
    # The scenarios follow the treatment path: who falls in a holdout depends on profile ids.
    draft = {**created.json()["draft"], "holdout_percent": 0}
    edited = client.patch(f"/api/journeys/{created.json()['id']}", headers=workspace.bearer(),
                          json={"definition": draft})
    assert edited.status_code == 200, edited.text
    published = client.post(f"/api/journeys/{created.json()['id']}/publish", headers=workspace.bearer())
    assert published.status_code == 200, published.text
    return published.json()


def _subjects(runtime: Runtime, workspace: Any, journey: dict[str, Any]) -> list[str]:
    return [subject(m, "en") for m in queued(runtime, workspace, journey["id"])]


def _welcome(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "fan")
    track(client, workspace, "fan", "Followed")
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Welcome aboard"]
    clock.advance(timedelta(hours=22))  # tomorrow 10:00
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Welcome aboard", "What everyone is buying"]


def _forgetting_curve(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "learner")
    track(client, workspace, "learner", "Signed Up")
    run(runtime, workspace)
    for day in range(1, 17):  # the worker runs continuously; here once a day, just after 20:00
        clock.freeze(NOON + timedelta(days=day, hours=8, minutes=1))
        run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == [f"Day {d}: your wishlist" for d in (1, 2, 4, 7, 15)]
    times = [m["created_at"] for m in queued(runtime, workspace, journey["id"])]
    assert [(t - NOON).days for t in times] == [1, 2, 4, 7, 15]


def _browse(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "looker")
    person(client, workspace, "buyer")
    track(client, workspace, "looker", "Product Viewed", sku="lip-01")
    track(client, workspace, "buyer", "Product Viewed", sku="lip-01")
    run(runtime, workspace)
    track(client, workspace, "buyer", "Order Completed", total=99)
    clock.advance(timedelta(hours=24))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Still thinking about it?"]


def _cart(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "carter")
    track(client, workspace, "carter", "Product Added", sku="lip-01")
    run(runtime, workspace)
    clock.advance(timedelta(hours=1))
    run(runtime, workspace)
    clock.advance(timedelta(hours=24))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Your cart is waiting", "10 off, just for you"]


def _post_purchase(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    cycle = next(s["wait"]["duration"] for s in journey["draft"]["steps"] if s["id"] == "cycle-wait")
    assert cycle == "83d"  # a young brand: the default 90-day repurchase cycle, less the week already waited
    person(client, workspace, "buyer")
    track(client, workspace, "buyer", "Order Completed", total=199)
    run(runtime, workspace)
    clock.advance(timedelta(days=1))
    track(client, workspace, "buyer", "Order Shipped")
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Your order is on its way"]
    clock.advance(timedelta(days=8))
    run(runtime, workspace)
    clock.advance(timedelta(days=84))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Your order is on its way", "How is it going?",
                                                      "Time to restock?"]
    assert queued(runtime, workspace, journey["id"])[0]["purpose"] == "transactional"


def _winback(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "sleeper")
    sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "userId": "sleeper", "event": "Order Completed", "properties": {"total": 300},
        "timestamp": (NOON - timedelta(days=120)).isoformat()})
    assert sent.status_code == 200, sent.text
    run_pass(runtime)  # scores (dormant), the segment refresh (Segment Entered), ...
    run_pass(runtime)  # ... and the journey reacting to it
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["We miss you: 20 off"]
    clock.advance(timedelta(days=7))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["We miss you: 20 off", "Your coupon expires soon"]
    stats = client.get(f"/api/journeys/{journey['id']}/stats", headers=workspace.bearer()).json()
    steps = {s["step"]: s for s in stats["steps"]}
    assert steps["coupon"]["outcomes"] == {"reward.unavailable": 1}
    assert steps["staff-follow-up"]["outcomes"] == {"task_created": 1}


def _birthday(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    gift = client.post("/api/offers", headers=workspace.bearer(), json={
        "name": "BIRTHDAY", "kind": "fixed_amount", "amount_fen": 2000, "stock": 100, "valid_days": 7})
    assert gift.status_code == 201, gift.text
    star = person(client, workspace, "star", birthday="1992-11-14", name="Lina")
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Happy birthday: a gift for you"]
    detail = client.get(f"/api/profiles/{star}", headers=workspace.bearer()).json()
    assert [t["name"] for t in detail["tags"]] == ["生日礼 birthday gift"]
    claims = client.get(f"/api/offers/{gift.json()['id']}/claims", headers=workspace.bearer()).json()
    assert [(c["profile_id"], c["channel"]) for c in claims] == [(star, "journey")]  # the coupon the text promises
    stats = client.get(f"/api/journeys/{journey['id']}/stats", headers=workspace.bearer()).json()
    assert {s["step"]: s for s in stats["steps"]}["gift"]["outcomes"] == {"reward.given": 1}


def _new_vs_returning(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    saved = client.put("/api/loyalty/programme", headers=workspace.bearer(),
                       json={"tiers": [{"name": "普卡", "threshold": 0}]})
    assert saved.status_code == 200, saved.text
    first = person(client, workspace, "first")
    track(client, workspace, "first", "Order Completed", total=50)
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Thanks for your first order"]
    again = person(client, workspace, "again")
    track(client, workspace, "again", "Order Completed", total=50)
    run(runtime, workspace)
    clock.advance(timedelta(days=31))
    track(client, workspace, "again", "Order Completed", total=80)
    run(runtime, workspace)
    assert sorted(_subjects(runtime, workspace, journey)) == ["Thanks for coming back", "Thanks for your first order",
                                                              "Thanks for your first order"]

    def balance(profile_id: int) -> int | None:
        member = client.get(f"/api/loyalty/members/{profile_id}", headers=workspace.bearer()).json()["member"]
        return None if member is None else member["points_balance"]

    assert (balance(first), balance(again)) == (None, 100)  # the returning buyer's points, through the ledger


SCENARIOS: dict[str, Callable[[Runtime, Any, Any, dict[str, Any]], None]] = {
    "welcome": _welcome, "forgetting_curve": _forgetting_curve, "browse_abandonment": _browse,
    "cart_abandonment": _cart, "post_purchase": _post_purchase, "winback": _winback, "birthday": _birthday,
    "new_vs_returning": _new_vs_returning,
}
SCENARIOS.update(DATE_GIFT_SCENARIOS)  # the date-gift templates' scenarios live beside the date-gift tests


def test_every_template_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(templates.KEYS)


@pytest.mark.parametrize("key", templates.KEYS)
def test_each_template_validates_and_runs(runtime: Runtime, client: Any, workspace: Any, key: str) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    journey = _from_template(client, workspace, key)
    SCENARIOS[key](runtime, client, workspace, journey)
