"""The review queue end to end with a real referral campaign: invitees from one phone farm are held
with their reasons, an operator approves one (its credit goes ahead and its reward is granted once
the invitee orders) and rejects another (denied, nothing granted) through ``/api/growth/reviews`` —
the campaigns' registered effects run once, from the queue's own API."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards, run_worker, track


def _offer(client, workspace) -> int:  # noqa: ANN001
    answer = client.post("/api/offers", headers=workspace.bearer(),
                         json={"name": "5 yuan", "kind": "fixed_amount", "stock": 100, "per_person_limit": 10,
                               "amount_fen": 500})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_held_invites_are_approved_or_rejected_from_the_queue(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    offer = _offer(client, workspace)
    found = campaign(client, workspace, "referral", {"inviter_reward": {"offer_id": offer, "cost_fen": 500},
                                                     "attribution_days": 7})
    ref = join(client, workspace, found["id"], alice)["token"]
    clock.advance(timedelta(hours=1))
    names = ["farm-1", "farm-2", "farm-3", "farm-4"]
    answers = {}
    for name in names:
        answers[name] = arrive(client, workspace, found["id"], "invites", ref, person(client, workspace, name),
                               device_id="one-phone").json()
    assert [answers[n]["status"] for n in names] == ["pending", "pending", "held", "held"]
    queue = client.get("/api/growth/reviews", params={"campaign_id": found["id"]}, headers=workspace.bearer()).json()
    assert sorted(d["id"] for d in queue) == sorted(answers[n]["decision_id"] for n in names[2:])
    assert {r["code"] for d in queue for r in d["reasons"]} == {"device_cluster"}
    assert all(d["inviter_profile_id"] == alice for d in queue)

    approved = client.post(f"/api/growth/reviews/{answers['farm-3']['decision_id']}/approve",
                           headers=workspace.bearer(), json={"note": "a family sharing a phone"})
    assert approved.status_code == 200 and approved.json()["changed"] is True
    rejected = client.post(f"/api/growth/reviews/{answers['farm-4']['decision_id']}/reject", headers=workspace.bearer())
    assert rejected.status_code == 200
    again = client.post(f"/api/growth/reviews/{answers['farm-3']['decision_id']}/approve", headers=workspace.bearer())
    assert again.json()["changed"] is False

    credits = {c["id"]: c["status"] for c in
               client.get(f"/api/campaigns/{found['id']}/credits", headers=workspace.bearer()).json()}
    assert credits[answers["farm-3"]["id"]] == "pending"  # approved: waits for its first order like the others
    assert credits[answers["farm-4"]["id"]] == "denied"
    clock.advance(timedelta(hours=2))
    for name in names:
        track(client, workspace, name, "Order Completed", total=99)
    run_worker(runtime, client, workspace)
    granted = [r for r in rewards(client, workspace, found["id"]) if r["status"] == "granted"]
    assert len(granted) == 3  # farm-1, farm-2 and the approved farm-3; never the rejected farm-4
