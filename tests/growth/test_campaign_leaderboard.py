"""Leaderboard campaigns on both databases: a real-time ranking of recruiters (ties to whoever got
there first), and the prize tiers handed out once when the campaign ends."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards, run_worker

PRIZES = {"prizes": [{"rank_from": 1, "rank_to": 1, "reward": {"cost_fen": 5000}},
                     {"rank_from": 2, "rank_to": 3, "reward": {"cost_fen": 1000}}]}


def test_ranking_is_live_and_prizes_are_given_once_at_the_end(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=10))
    names = ["ann", "ben", "cat", "dan"]
    people = {n: person(client, workspace, n) for n in names}
    clock.freeze(START)
    found = campaign(client, workspace, "leaderboard", PRIZES, days=7)
    refs = {n: join(client, workspace, found["id"], people[n])["token"] for n in names}
    invites = {"ann": 2, "ben": 3, "cat": 2, "dan": 0}
    for order, name in enumerate(["cat", "ann", "ben"]):  # cat reaches 2 before ann does
        for n in range(invites[name]):
            clock.advance(timedelta(minutes=1 + order))
            friend = person(client, workspace, f"{name}-friend-{n}")
            arrive(client, workspace, found["id"], "invites", refs[name], friend, device_id=f"{name}{n}")
    board = client.get(f"/api/campaigns/{found['id']}/leaderboard", headers=workspace.bearer()).json()
    assert [(r["position"], r["profile_id"], r["score"]) for r in board] == [
        (1, people["ben"], 3), (2, people["cat"], 2), (3, people["ann"], 2)]
    assert run_worker(runtime, client, workspace)["settled"] == 0
    assert rewards(client, workspace, found["id"]) == []
    clock.freeze(START + timedelta(days=7, minutes=1))
    assert run_worker(runtime, client, workspace)["settled"] == 1
    assert run_worker(runtime, client, workspace)["settled"] == 0
    given = {r["profile_id"]: r["cost_fen"] for r in rewards(client, workspace, found["id"])}
    assert given == {people["ben"]: 5000, people["cat"]: 1000, people["ann"]: 1000}
    shown = client.get(f"/api/campaigns/{found['id']}", headers=workspace.bearer()).json()
    assert shown["status"] == "ended" and shown["settled_at"] is not None
    late = arrive(client, workspace, found["id"], "invites", refs["dan"], person(client, workspace, "late"))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "campaigns.not_live")
