"""Referral (老带新) scenarios on both databases, travelling in time: the invitee's first order within
the attribution window rewards both sides through real offers; a late order expires the invite; the
budget stops issuance; anti-fraud denies self-invites and people who are not new; an unfollow within
the window takes the credit and its rewards back."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from tests.growth.campaign_helpers import (
    START,
    arrive,
    campaign,
    join,
    person,
    rewards,
    run_worker,
    track,
)


def _offer(client, workspace, name: str, stock: int = 100) -> int:  # noqa: ANN001
    answer = client.post("/api/offers", headers=workspace.bearer(),
                         json={"name": name, "kind": "fixed_amount", "stock": stock, "per_person_limit": 10,
                               "amount_fen": 500})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _credits(client, workspace, campaign_id: int) -> dict[int, dict]:  # noqa: ANN001
    answer = client.get(f"/api/campaigns/{campaign_id}/credits", headers=workspace.bearer())
    return {c["profile_id"]: c for c in answer.json()}


def _referral(client, workspace, **rules):  # noqa: ANN001, ANN003, ANN202
    inviter_offer, invitee_offer = _offer(client, workspace, "inviter 5 yuan"), _offer(client, workspace, "invitee")
    found = campaign(client, workspace, "referral", {
        "inviter_reward": {"offer_id": inviter_offer, "cost_fen": 500},
        "invitee_reward": {"offer_id": invitee_offer, "cost_fen": 300}, "attribution_days": 7, **rules},
        budget_fen=1_600)
    return found, inviter_offer, invitee_offer


def test_a_first_order_inside_the_window_rewards_both_and_a_late_one_expires(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    found, inviter_offer, invitee_offer = _referral(client, workspace)
    ref = join(client, workspace, found["id"], alice)["token"]
    clock.advance(timedelta(hours=1))
    bob, carol = person(client, workspace, "bob"), person(client, workspace, "carol")
    for invitee in (bob, carol):
        answer = arrive(client, workspace, found["id"], "invites", ref, invitee, device_id=f"d-{invitee}")
        assert (answer.status_code, answer.json()["status"]) == (201, "pending"), answer.text
    again = arrive(client, workspace, found["id"], "invites", ref, bob)
    assert again.json()["id"] == _credits(client, workspace, found["id"])[bob]["id"]  # one inviter per invitee
    clock.advance(timedelta(days=2))
    track(client, workspace, "bob", "Order Completed", total=199)
    assert run_worker(runtime, client, workspace)["qualified"] == 1
    granted = {(r["profile_id"], r["offer_id"], r["status"]) for r in rewards(client, workspace, found["id"])}
    assert granted == {(alice, inviter_offer, "granted"), (bob, invitee_offer, "granted")}
    assert client.get(f"/api/offers/{inviter_offer}", headers=workspace.bearer()).json()["claimed"] == 1
    clock.advance(timedelta(days=6))  # carol's window (7 days from her invite) has passed
    track(client, workspace, "carol", "Order Completed", total=99)
    done = run_worker(runtime, client, workspace)
    assert (done["qualified"], done["expired"]) == (0, 1)
    statuses = {p: c["status"] for p, c in _credits(client, workspace, found["id"]).items()}
    assert statuses == {bob: "credited", carol: "expired"}
    assert len(rewards(client, workspace, found["id"])) == 2


def test_the_budget_stops_issuance_and_is_never_exceeded(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    found, _, _ = _referral(client, workspace)  # budget 1600 fen; each referral costs 500 + 300
    ref = join(client, workspace, found["id"], alice)["token"]
    clock.advance(timedelta(hours=1))
    names = ["f1", "f2", "f3"]
    for name in names:
        arrive(client, workspace, found["id"], "invites", ref, person(client, workspace, name), device_id=name)
    clock.advance(timedelta(hours=1))
    for name in names:
        track(client, workspace, name, "Order Completed", total=10)
    run_worker(runtime, client, workspace)
    given = rewards(client, workspace, found["id"])
    assert sorted(r["status"] for r in given) == ["granted"] * 4 + ["refused"] * 2
    assert {r["error_code"] for r in given if r["status"] == "refused"} == {"campaigns.budget_spent"}
    figures = client.get(f"/api/campaigns/{found['id']}/measurement", headers=workspace.bearer()).json()
    assert (figures["spent_fen"], figures["budget_left_fen"]) == (1_600, 0)


def test_self_invites_and_old_customers_are_denied_with_reasons(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    alice, old = person(client, workspace, "alice"), person(client, workspace, "old-customer")
    clock.freeze(START)
    found, _, _ = _referral(client, workspace)
    ref = join(client, workspace, found["id"], alice)["token"]
    itself = arrive(client, workspace, found["id"], "invites", ref, alice).json()
    assert itself["status"] == "denied" and itself["reasons"][0]["code"] == "self_invite"
    known = arrive(client, workspace, found["id"], "invites", ref, old).json()
    assert known["status"] == "denied" and known["reasons"][0]["code"] == "not_new_customer"
    assert known["decision_id"] is not None and known["risk_score"] == 100


def test_an_unfollow_within_the_window_revokes_the_credit_and_voids_its_rewards(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    found, inviter_offer, _ = _referral(client, workspace, revoke_within_days=7)
    ref = join(client, workspace, found["id"], alice)["token"]
    bob = person(client, workspace, "bob")
    arrive(client, workspace, found["id"], "invites", ref, bob)
    clock.advance(timedelta(hours=2))
    track(client, workspace, "bob", "Order Completed", total=10)
    run_worker(runtime, client, workspace)
    clock.advance(timedelta(days=3))
    track(client, workspace, "bob", "Unfollowed")
    assert run_worker(runtime, client, workspace)["revoked"] == 1
    assert _credits(client, workspace, found["id"])[bob]["status"] == "revoked"
    assert {r["status"] for r in rewards(client, workspace, found["id"])} == {"voided"}
    offer = client.get(f"/api/offers/{inviter_offer}", headers=workspace.bearer()).json()
    assert offer["remaining"] == 100  # the voided claim's unit went back
    figures = client.get(f"/api/campaigns/{found['id']}/measurement", headers=workspace.bearer()).json()
    assert (figures["spent_fen"], figures["invites_accepted"], figures["invites_revoked"]) == (0, 0, 1)


def test_follow_and_stay_credits_after_the_stay_and_not_before(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    found, _, _ = _referral(client, workspace, qualifying="follow_stay", stay_days=3)
    ref = join(client, workspace, found["id"], alice)["token"]
    stayer, leaver = person(client, workspace, "stayer"), person(client, workspace, "leaver")
    arrive(client, workspace, found["id"], "invites", ref, stayer, device_id="a")
    arrive(client, workspace, found["id"], "invites", ref, leaver, device_id="b")
    clock.advance(timedelta(days=1))
    track(client, workspace, "leaver", "Unfollowed")
    assert run_worker(runtime, client, workspace)["qualified"] == 0
    clock.advance(timedelta(days=2, minutes=1))
    assert run_worker(runtime, client, workspace)["qualified"] == 1
    statuses = {p: c["status"] for p, c in _credits(client, workspace, found["id"]).items()}
    assert statuses == {stayer: "credited", leaver: "revoked"}
