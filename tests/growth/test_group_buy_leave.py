"""Leaving a group buy (``POST /api/campaigns/{id}/leaves``) on both databases: the place is freed and
taken again, the member-price claim voided through the offers service, the leader and a formed group
refused, leaving twice answers the same, and a join racing a leave for the last place never makes an
over-full group or an orphan claim."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from siyu import clock
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards


def _offer(client, workspace, stock: int = 100) -> int:  # noqa: ANN001
    answer = client.post("/api/offers", headers=workspace.bearer(),
                         json={"name": "拼团价", "kind": "fixed_amount", "stock": stock, "per_person_limit": 1,
                               "amount_fen": 1000})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _group_buy(client, workspace, offer_id: int, size: int = 3) -> dict:  # noqa: ANN001
    return campaign(client, workspace, "group_buy", {
        "group_size": size, "time_limit_hours": 24, "list_price_fen": 9900, "leader_price_fen": 4900,
        "member_price_fen": 5900, "member_reward": {"offer_id": offer_id, "cost_fen": 0}}, name="双十二拼团")


def _leave(client, workspace, campaign_id: int, profile_id: int):  # noqa: ANN001, ANN202
    return client.post(f"/api/campaigns/{campaign_id}/leaves", json={"profile_id": profile_id},
                       headers=workspace.bearer())


def _state(client, workspace, campaign_id: int, profile_id: int) -> dict:  # noqa: ANN001
    answer = client.get(f"/api/campaigns/{campaign_id}/participants/{profile_id}", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def _remaining(client, workspace, offer_id: int) -> int:  # noqa: ANN001
    return int(client.get(f"/api/offers/{offer_id}", headers=workspace.bearer()).json()["remaining"])


def test_a_member_leaves_the_place_is_taken_again_and_the_claim_is_voided(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    offer_id = _offer(client, workspace)
    found = _group_buy(client, workspace, offer_id)
    leader, amy, ben = (person(client, workspace, name) for name in ("leader", "amy", "ben"))
    ref = join(client, workspace, found["id"], leader)["token"]
    assert arrive(client, workspace, found["id"], "joins", ref, amy, device_id="amy").json()["status"] == "credited"
    assert _remaining(client, workspace, offer_id) == 99

    left = _leave(client, workspace, found["id"], amy)
    assert left.status_code == 201, left.text
    assert left.json()["status"] == "revoked" and left.json()["reasons"][-1]["code"] == "left_group_buy"
    assert _state(client, workspace, found["id"], leader)["state"]["members"] == [leader]
    assert _remaining(client, workspace, offer_id) == 100  # the unit is back in stock
    assert [(r["profile_id"], r["status"]) for r in rewards(client, workspace, found["id"])] == [(amy, "voided")]
    again = _leave(client, workspace, found["id"], amy)
    assert (again.status_code, again.json()) == (201, left.json())  # a retry changes nothing
    assert _remaining(client, workspace, offer_id) == 100

    assert arrive(client, workspace, found["id"], "joins", ref, ben, device_id="ben").json()["status"] == "credited"
    back = arrive(client, workspace, found["id"], "joins", ref, amy, device_id="amy").json()
    assert back["status"] == "revoked"  # one group per person per campaign: the leaver's place stays given up
    assert _state(client, workspace, found["id"], leader)["state"]["members"] == [leader, ben]
    assert _state(client, workspace, found["id"], leader)["progress"] == 1


def test_the_leader_and_members_of_a_formed_group_cannot_leave(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = _group_buy(client, workspace, _offer(client, workspace), size=2)
    leader, amy, stranger = (person(client, workspace, name) for name in ("leader", "amy", "stranger"))
    ref = join(client, workspace, found["id"], leader)["token"]
    refused = _leave(client, workspace, found["id"], leader)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "campaigns.leave_refused"
    assert refused.json()["error"]["details"] == {"reason": "leader_cannot_leave"}
    nobody = _leave(client, workspace, found["id"], stranger).json()["error"]
    assert (nobody["code"], nobody["details"]["reason"]) == ("campaigns.leave_refused", "not_member")
    arrive(client, workspace, found["id"], "joins", ref, amy, device_id="amy")  # size 2: the group forms
    formed = _leave(client, workspace, found["id"], amy)
    assert formed.status_code == 409 and formed.json()["error"]["details"] == {"reason": "not_open"}
    assert [r["status"] for r in rewards(client, workspace, found["id"])] == ["granted"]
    wrong = client.post("/api/campaigns/999999999/leaves", json={"profile_id": amy}, headers=workspace.bearer())
    assert wrong.status_code == 404


def test_another_workspace_cannot_make_a_member_leave(client, workspace, other_workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = _group_buy(client, workspace, _offer(client, workspace))
    leader, amy = person(client, workspace, "leader"), person(client, workspace, "amy")
    ref = join(client, workspace, found["id"], leader)["token"]
    arrive(client, workspace, found["id"], "joins", ref, amy, device_id="amy")
    assert _leave(client, other_workspace, found["id"], amy).status_code == 404
    assert _state(client, workspace, found["id"], leader)["state"]["members"] == [leader, amy]


def test_a_join_racing_a_leave_for_the_last_place_keeps_the_group_exact(app, client, workspace) -> None:  # noqa: ANN001
    """Size 3, leader + amy; amy leaves while ben and cat each try for the last place. Whatever the
    order, the group never passes 3, each credited member holds exactly one granted claim, and the
    offer's stock matches the claims."""
    clock.freeze(START)
    for round_ in range(3):
        offer_id = _offer(client, workspace)
        found = _group_buy(client, workspace, offer_id)
        leader, amy, ben, cat = (person(client, workspace, f"{name}-{round_}") for name in
                                 ("leader", "amy", "ben", "cat"))
        ref = join(client, workspace, found["id"], leader)["token"]
        arrive(client, workspace, found["id"], "joins", ref, amy, device_id=f"amy{round_}")
        barrier = threading.Barrier(3)
        answers: dict[str, int] = {}

        def go(name: str, call, barrier=barrier, answers=answers) -> None:  # noqa: ANN001
            with TestClient(app) as own:
                barrier.wait()
                answers[name] = call(own).status_code

        calls = {
            "leave": lambda own, f=found, a=amy: _leave(own, workspace, f["id"], a),
            "ben": lambda own, f=found, r=ref, b=ben: arrive(own, workspace, f["id"], "joins", r, b, device_id=f"b{b}"),
            "cat": lambda own, f=found, r=ref, c=cat: arrive(own, workspace, f["id"], "joins", r, c, device_id=f"c{c}"),
        }
        threads = [threading.Thread(target=go, args=item) for item in calls.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers["ben"] == answers["cat"] == 201
        members = _state(client, workspace, found["id"], leader)["state"]["members"]
        assert len(members) == 3 and members[0] == leader and len(set(members)) == 3
        credits = client.get(f"/api/campaigns/{found['id']}/credits", headers=workspace.bearer()).json()
        credited = sorted(c["profile_id"] for c in credits if c["status"] == "credited")
        assert credited == sorted(members[1:])
        granted = sorted(r["profile_id"] for r in rewards(client, workspace, found["id"]) if r["status"] == "granted")
        assert granted == credited
        assert _remaining(client, workspace, offer_id) == 100 - len(granted)
        if answers["leave"] == 201:  # the leave came first: both others took places
            assert sorted(members[1:]) == sorted([ben, cat])
        else:  # a join filled the group first: amy stays, one joiner was too late
            assert answers["leave"] == 409 and amy in members
