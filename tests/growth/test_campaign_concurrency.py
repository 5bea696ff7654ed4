"""Issuance under concurrency on both databases: many participants unlocking at once never spend more
than the budget, and a tier's stock is never passed — exactly the allowed number of rewards."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient

from siyu import clock
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards

OWNERS = 8


def _race(app, workspace, campaign_id: int, pairs: list[tuple[str, int]], what: str) -> None:  # noqa: ANN001
    barrier = threading.Barrier(len(pairs))

    def go(ref: str, friend: int) -> None:
        with TestClient(app) as own:
            barrier.wait()
            assert arrive(own, workspace, campaign_id, what, ref, friend, device_id=f"d{friend}").status_code == 201

    threads = [threading.Thread(target=go, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_unlocks_never_pass_the_budget(app, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=5))
    owners = [person(client, workspace, f"owner-{n}") for n in range(OWNERS)]
    clock.freeze(START)
    found = campaign(client, workspace, "assist", {"helpers_needed": 1, "reward": {"cost_fen": 100}},
                     budget_fen=300)
    refs = [join(client, workspace, found["id"], owner)["token"] for owner in owners]
    friends = [person(client, workspace, f"friend-{n}") for n in range(OWNERS)]
    _race(app, workspace, found["id"], list(zip(refs, friends, strict=True)), "helps")
    given = rewards(client, workspace, found["id"])
    assert sorted(r["status"] for r in given) == ["granted"] * 3 + ["refused"] * (OWNERS - 3)
    shown = client.get(f"/api/campaigns/{found['id']}", headers=workspace.bearer()).json()
    assert shown["counters"]["budget"] == {"cap": 300, "used": 300}


def test_concurrent_tier_unlocks_never_pass_the_tier_stock(app, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=5))
    owners = [person(client, workspace, f"owner-{n}") for n in range(OWNERS)]
    clock.freeze(START)
    found = campaign(client, workspace, "task_unlock", {"tiers": [{"threshold": 1, "stock": 2, "reward": {}}]})
    refs = [join(client, workspace, found["id"], owner)["token"] for owner in owners]
    clock.advance(timedelta(minutes=30))
    friends = [person(client, workspace, f"friend-{n}") for n in range(OWNERS)]
    _race(app, workspace, found["id"], list(zip(refs, friends, strict=True)), "invites")
    given = rewards(client, workspace, found["id"])
    assert sorted(r["status"] for r in given) == ["granted"] * 2 + ["refused"] * (OWNERS - 2)
    assert {r["error_code"] for r in given if r["status"] == "refused"} == {"campaigns.stock_gone"}
