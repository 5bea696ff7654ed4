"""Fission campaigns follow a profile merge (both databases, through an identify that links two
profiles): an inviter who invited their own second account loses that credit and its rewards (revoked,
``self_invite`` in the anti-fraud log); two participations in one campaign become one whose progress
counts both; a person invited through both accounts keeps one credit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read
from siyu.db.tables import campaign_participants
from siyu.growth import store
from siyu.growth.merge_store import kept_participation
from siyu.runtime import Runtime
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards, run_worker
from tests.journeys.test_merges import _merge, _owner


def _offer(client: Any, workspace: Any, name: str) -> int:
    answer = client.post("/api/offers", headers=workspace.bearer(),
                         json={"name": name, "kind": "fixed_amount", "stock": 100, "per_person_limit": 10,
                               "amount_fen": 500})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _referral(client: Any, workspace: Any) -> dict[str, Any]:
    return campaign(client, workspace, "referral", {
        "inviter_reward": {"offer_id": _offer(client, workspace, "inviter"), "cost_fen": 500},
        "invitee_reward": {"offer_id": _offer(client, workspace, "invitee"), "cost_fen": 300},
        "attribution_days": 7})


def _second_account(client: Any, workspace: Any, anonymous_id: str) -> int:
    """A second profile of someone, known only by a browser id (a purchase-less visit)."""
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""),
                       json={"anonymousId": anonymous_id, "timestamp": clock.now().isoformat()})
    assert sent.status_code == 200, sent.text
    return _owner(client, workspace, "anonymous_id", anonymous_id)


def _order(client: Any, workspace: Any, **who: str) -> None:
    sent = client.post("/v1/track", auth=(workspace.write_key, ""),
                       json={**who, "event": "Order Completed", "properties": {"total": 99},
                             "timestamp": clock.now().isoformat()})
    assert sent.status_code == 200, sent.text


def _credits(client: Any, workspace: Any, campaign_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/campaigns/{campaign_id}/credits", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def _participants(runtime: Runtime, workspace: Any, campaign_id: int) -> list[tuple[int, int]]:
    with read(runtime.engine) as conn:
        return [(int(r.profile_id), int(r.progress)) for r in conn.execute(select(
            campaign_participants.c.profile_id, campaign_participants.c.progress).where(
            campaign_participants.c.workspace_id == workspace.id, campaign_participants.c.campaign_id == campaign_id))]


def test_a_merge_that_joins_inviter_and_invitee_revokes_the_self_invite(runtime: Runtime, client: Any,
                                                                        workspace: Any) -> None:
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice")
    clock.freeze(START)
    found = _referral(client, workspace)
    ref = join(client, workspace, found["id"], alice)["token"]
    clock.advance(timedelta(hours=1))
    other_phone = _second_account(client, workspace, "alice-other-phone")
    answer = arrive(client, workspace, found["id"], "invites", ref, other_phone, device_id="d-2")
    assert answer.status_code == 201, answer.text
    clock.advance(timedelta(days=1))
    _order(client, workspace, anonymousId="alice-other-phone")
    assert run_worker(runtime, client, workspace)["qualified"] == 1
    assert {r["status"] for r in rewards(client, workspace, found["id"])} == {"granted"}
    assert _participants(runtime, workspace, found["id"]) == [(alice, 1)]

    clock.advance(timedelta(hours=1))
    _merge(client, workspace, "alice", "alice-other-phone")
    assert _owner(client, workspace, "anonymous_id", "alice-other-phone") == alice

    [credit] = _credits(client, workspace, found["id"])
    assert (credit["profile_id"], credit["status"]) == (alice, "revoked")
    assert "self_invite" in credit["reasons"]
    assert {r["status"] for r in rewards(client, workspace, found["id"])} == {"voided"}
    assert {r["profile_id"] for r in rewards(client, workspace, found["id"])} == {alice}
    assert _participants(runtime, workspace, found["id"]) == [(alice, 0)]
    summary = client.get("/api/growth/reviews/summary", params={"campaign_id": found["id"]},
                         headers=workspace.bearer())
    assert summary.status_code == 200, summary.text
    assert "self_invite" in str(summary.json())  # the revocation is in the anti-fraud log


def test_two_participations_in_one_campaign_become_one_that_counts_both(runtime: Runtime, client: Any,
                                                                        workspace: Any) -> None:
    clock.freeze(START - timedelta(days=30))
    alice = person(client, workspace, "alice2")
    clock.freeze(START)
    found = _referral(client, workspace)
    second = _second_account(client, workspace, "alice2-laptop")
    first_ref = join(client, workspace, found["id"], alice)["token"]
    second_ref = join(client, workspace, found["id"], second)["token"]
    clock.advance(timedelta(hours=1))
    bob, carol, dan = (person(client, workspace, n) for n in ("bob2", "carol2", "dan2"))
    for ref, invitee in ((first_ref, bob), (second_ref, carol), (second_ref, dan)):
        assert arrive(client, workspace, found["id"], "invites", ref, invitee,
                      device_id=f"d-{invitee}").status_code == 201
    clock.advance(timedelta(days=1))
    for name in ("bob2", "carol2"):
        _order(client, workspace, userId=name)
    assert run_worker(runtime, client, workspace)["qualified"] == 2
    assert sorted(_participants(runtime, workspace, found["id"])) == [(alice, 1), (second, 1)]

    _merge(client, workspace, "alice2", "alice2-laptop")

    assert _participants(runtime, workspace, found["id"]) == [(alice, 2)]  # both credited invites count
    with read(runtime.engine) as conn:
        kept = store.participant_of(conn, workspace.id, found["id"], alice)
    assert kept is not None
    credits = {c["profile_id"]: c for c in _credits(client, workspace, found["id"])}
    assert {c["participant_id"] for c in credits.values()} == {kept.id}
    assert (credits[carol]["status"], credits[dan]["status"]) == ("credited", "pending")
    clock.advance(timedelta(hours=1))
    _order(client, workspace, userId="dan2")  # dan's pending invite still qualifies, for the kept participation
    assert run_worker(runtime, client, workspace)["qualified"] == 1
    assert _participants(runtime, workspace, found["id"]) == [(alice, 3)]
    inviter_rewards = [r for r in rewards(client, workspace, found["id"]) if r["profile_id"] == alice]
    assert len(inviter_rewards) == 3


def test_a_person_invited_through_both_accounts_keeps_one_credit(runtime: Runtime, client: Any,
                                                                 workspace: Any) -> None:
    clock.freeze(START - timedelta(days=30))
    alice, carol = person(client, workspace, "alice3"), person(client, workspace, "carol3")
    clock.freeze(START)
    found = _referral(client, workspace)
    alice_ref = join(client, workspace, found["id"], alice)["token"]
    carol_ref = join(client, workspace, found["id"], carol)["token"]
    clock.advance(timedelta(hours=1))
    bob = person(client, workspace, "bob3")
    assert arrive(client, workspace, found["id"], "invites", alice_ref, bob, device_id="d-b1").status_code == 201
    clock.advance(timedelta(hours=1))
    bob_again = _second_account(client, workspace, "bob3-tablet")
    assert arrive(client, workspace, found["id"], "invites", carol_ref, bob_again,
                  device_id="d-b2").status_code == 201

    _merge(client, workspace, "bob3", "bob3-tablet")

    credits = sorted(_credits(client, workspace, found["id"]), key=lambda c: c["id"])
    assert [(c["profile_id"], c["status"]) for c in credits] == [(bob, "pending"), (bob, "revoked")]
    assert "merged_duplicate" in credits[1]["reasons"]


def test_the_participation_with_more_progress_is_kept_then_the_earlier() -> None:
    from types import SimpleNamespace

    early = SimpleNamespace(id=1, progress=1, joined_at=START)
    late_ahead = SimpleNamespace(id=2, progress=3, joined_at=START + timedelta(days=1))
    late_tied = SimpleNamespace(id=3, progress=1, joined_at=START + timedelta(days=1))
    assert kept_participation([early, late_ahead]) == (late_ahead, early)
    assert kept_participation([late_tied, early]) == (early, late_tied)
