"""Taking back what a leaver took, on both databases: a friend who unfollows or leaves the community
group within ``revoke_within_days`` loses their group place, their cut or their unredeemed split share
while the outcome is open; once it is final (formed, bargained down, redeemed) nothing is taken back
and the decisions log records the leave as a risk signal. The worker step run twice revokes nothing
twice; past the window nothing is taken back at all."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from siyu import clock
from siyu.growth.bargain import BargainState, apply_cut, next_cut, take_back_cut
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards, run_worker, track


def _offer(client, workspace) -> int:  # noqa: ANN001
    answer = client.post("/api/offers", headers=workspace.bearer(),
                         json={"name": "券", "kind": "fixed_amount", "stock": 100, "per_person_limit": 1,
                               "amount_fen": 1000})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _state(client, workspace, campaign_id: int, profile_id: int) -> dict:  # noqa: ANN001
    answer = client.get(f"/api/campaigns/{campaign_id}/participants/{profile_id}", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def _decisions(client, workspace, campaign_id: int) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(subject kind, verdict, first reason code) of the campaign's decisions after the arrivals'."""
    found = client.get("/api/growth/reviews", params={"status": "all", "campaign_id": campaign_id},
                       headers=workspace.bearer()).json()
    return sorted((d["subject_kind"], d["verdict"], d["reasons"][0]["code"]) for d in found
                  if d["subject_kind"] != "campaign_credit")


def _remaining(client, workspace, offer_id: int) -> int:  # noqa: ANN001
    return int(client.get(f"/api/offers/{offer_id}", headers=workspace.bearer()).json()["remaining"])


def _group_buy(client, workspace, offer_id: int, size: int) -> dict:  # noqa: ANN001
    return campaign(client, workspace, "group_buy", {
        "group_size": size, "time_limit_hours": 48, "list_price_fen": 9900, "leader_price_fen": 4900,
        "member_price_fen": 5900, "member_reward": {"offer_id": offer_id, "cost_fen": 0},
        "revoke_within_days": 3}, name="拼团")


def test_a_member_who_unfollows_before_the_group_forms_loses_the_place(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    offer_id = _offer(client, workspace)
    found = _group_buy(client, workspace, offer_id, size=3)
    leader, amy, ben = (person(client, workspace, name) for name in ("leader", "amy", "ben"))
    ref = join(client, workspace, found["id"], leader)["token"]
    arrive(client, workspace, found["id"], "joins", ref, amy, device_id="amy")
    clock.advance(timedelta(hours=5))
    track(client, workspace, "amy", "Unfollowed")
    assert run_worker(runtime, client, workspace)["revoked"] == 1
    assert _state(client, workspace, found["id"], leader)["state"]["members"] == [leader]
    assert [(r["profile_id"], r["status"], r["error_code"]) for r in rewards(client, workspace, found["id"])] == [
        (amy, "voided", "unfollowed")]
    assert _remaining(client, workspace, offer_id) == 100
    assert _decisions(client, workspace, found["id"]) == [("campaign_credit.revoked", "deny", "unfollowed")]
    again = run_worker(runtime, client, workspace)
    assert (again["revoked"], again["risk_signals"]) == (0, 0)
    track(client, workspace, "amy", "Group Member Left")  # a second leave finds nothing left to take
    assert run_worker(runtime, client, workspace)["revoked"] == 0
    assert arrive(client, workspace, found["id"], "joins", ref, ben, device_id="ben").json()["status"] == "credited"
    assert _state(client, workspace, found["id"], leader)["state"]["members"] == [leader, ben]
    assert len(_decisions(client, workspace, found["id"])) == 1


def test_leaving_a_formed_group_takes_nothing_back_and_is_logged_as_a_risk(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    offer_id = _offer(client, workspace)
    found = _group_buy(client, workspace, offer_id, size=2)
    leader, amy = person(client, workspace, "leader"), person(client, workspace, "amy")
    ref = join(client, workspace, found["id"], leader)["token"]
    arrive(client, workspace, found["id"], "joins", ref, amy, device_id="amy")
    assert _state(client, workspace, found["id"], leader)["phase"] == "done"
    clock.advance(timedelta(hours=2))
    track(client, workspace, "amy", "Group Member Left")
    done = run_worker(runtime, client, workspace)
    assert (done["revoked"], done["risk_signals"]) == (0, 1)
    assert [r["status"] for r in rewards(client, workspace, found["id"])] == ["granted"]
    assert _decisions(client, workspace, found["id"]) == [
        ("campaign_credit.left_late", "allow", "left_group")]
    assert run_worker(runtime, client, workspace)["risk_signals"] == 0


def test_a_helper_who_unfollows_gives_the_cut_back_and_the_target_is_still_exact(runtime, client,  # noqa: ANN001
                                                                                 workspace) -> None:
    clock.freeze(START)
    found = campaign(client, workspace, "bargain", {
        "start_price_fen": 10_000, "target_price_fen": 100, "expected_helpers": 3, "deadline_hours": 240,
        "revoke_within_days": 3, "reward": {"cost_fen": 0}}, name="砍价")
    owner = person(client, workspace, "owner")
    ref = join(client, workspace, found["id"], owner)["token"]
    helpers = [person(client, workspace, f"h{i}") for i in range(5)]
    for index in (0, 1):
        assert arrive(client, workspace, found["id"], "helps", ref, helpers[index],
                      device_id=f"h{index}").json()["status"] == "credited"
    before = _state(client, workspace, found["id"], owner)["state"]
    first_cut = before["cuts"][0]
    clock.advance(timedelta(days=1))
    track(client, workspace, "h0", "Unfollowed")
    assert run_worker(runtime, client, workspace)["revoked"] == 1
    after = _state(client, workspace, found["id"], owner)
    assert after["state"]["cuts"] == before["cuts"][1:] and after["state"]["helper_ids"] == [helpers[1]]
    assert 10_000 - sum(after["state"]["cuts"]) == 10_000 - sum(before["cuts"]) + first_cut  # back up by the cut
    assert after["progress"] == 1 and after["phase"] == "open"
    assert run_worker(runtime, client, workspace)["revoked"] == 0
    for index in (2, 3):
        assert arrive(client, workspace, found["id"], "helps", ref, helpers[index],
                      device_id=f"h{index}").json()["status"] == "credited"
    done = _state(client, workspace, found["id"], owner)
    assert 10_000 - sum(done["state"]["cuts"]) == 100 and done["phase"] == "done"  # exactly at the 3rd helper
    assert len(done["state"]["cuts"]) == 3
    track(client, workspace, "h1", "Unfollowed")  # the bargain is complete: nothing moves
    outcome = run_worker(runtime, client, workspace)
    assert (outcome["revoked"], outcome["risk_signals"]) == (0, 1)
    assert 10_000 - sum(_state(client, workspace, found["id"], owner)["state"]["cuts"]) == 100
    assert _decisions(client, workspace, found["id"]) == [
        ("campaign_credit.left_late", "allow", "unfollowed"), ("campaign_credit.revoked", "deny", "unfollowed")]


def test_an_unredeemed_split_share_is_voided_and_a_redeemed_one_kept(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    offer_id = _offer(client, workspace)
    found = campaign(client, workspace, "split_coupon", {"pool_fen": 1000, "claimers": 4, "minimum_fen": 50,
                                                        "offer_id": offer_id, "revoke_within_days": 3}, name="瓜分")
    sharer = person(client, workspace, "sharer")
    ref = join(client, workspace, found["id"], sharer)["token"]
    kept, lost = person(client, workspace, "kept"), person(client, workspace, "lost")
    for who in (kept, lost):
        assert arrive(client, workspace, found["id"], "joins", ref, who, device_id=f"d{who}").json()[
            "status"] == "credited"
    assert _remaining(client, workspace, offer_id) == 97
    claims = client.get(f"/api/offers/{offer_id}/claims", headers=workspace.bearer()).json()
    code = next(c["code"] for c in claims if c["profile_id"] == kept)
    used = client.post(f"/api/claims/{code}/redeem", headers=workspace.bearer(),
                       json={"order_id": "o-1", "amount_fen": 5000, "idempotency_key": "o-1"})
    assert used.status_code == 200, used.text
    clock.advance(timedelta(days=2))
    track(client, workspace, "kept", "Unfollowed")
    track(client, workspace, "lost", "Unfollowed")
    done = run_worker(runtime, client, workspace)
    assert (done["revoked"], done["risk_signals"]) == (1, 1)
    by_person = {r["profile_id"]: r["status"] for r in rewards(client, workspace, found["id"])}
    assert by_person == {sharer: "granted", kept: "granted", lost: "voided"}
    assert _remaining(client, workspace, offer_id) == 98  # the voided share's unit is back
    pool = _state(client, workspace, found["id"], sharer)["state"]
    assert pool["claimed_by"] == [sharer, kept, lost]  # the share does not return to the pool
    assert _decisions(client, workspace, found["id"]) == [
        ("campaign_credit.left_late", "allow", "unfollowed"), ("campaign_credit.revoked", "deny", "unfollowed")]
    again = run_worker(runtime, client, workspace)
    assert (again["revoked"], again["risk_signals"]) == (0, 0)


def test_leaving_after_the_window_takes_nothing_back(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "bargain", {
        "start_price_fen": 10_000, "target_price_fen": 100, "expected_helpers": 3, "deadline_hours": 240,
        "revoke_within_days": 3}, name="砍价")
    owner = person(client, workspace, "owner")
    ref = join(client, workspace, found["id"], owner)["token"]
    arrive(client, workspace, found["id"], "helps", ref, person(client, workspace, "h0"), device_id="h0")
    before = _state(client, workspace, found["id"], owner)["state"]["cuts"]
    clock.advance(timedelta(days=3, minutes=1))
    track(client, workspace, "h0", "Unfollowed")
    done = run_worker(runtime, client, workspace)
    assert (done["revoked"], done["risk_signals"]) == (0, 0)
    assert _state(client, workspace, found["id"], owner)["state"]["cuts"] == before
    assert _decisions(client, workspace, found["id"]) == []


@given(st.integers(3, 12), st.integers(0, 2_000), st.lists(st.tuples(st.booleans(), st.booleans()), max_size=30),
       st.text(min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_taking_cuts_back_keeps_the_bargain_s_promise(helpers: int, extra: int, steps: list, seed: str) -> None:
    """Whatever cuts are taken back along the way, the price is never below the target, every helper
    cuts at least 1 fen, and the target is reached exactly when ``expected_helpers`` cuts stand."""
    state = BargainState(start_price_fen=100 + helpers + extra, target_price_fen=100, expected_helpers=helpers,
                         seed=seed)
    next_helper = 1
    for take_back, new in steps:
        if take_back and state.helper_ids:
            leaver = state.helper_ids[len(state.helper_ids) // 2]
            before = state.price_fen
            state, cut = take_back_cut(state, leaver)
            assert cut >= 1 and state.price_fen == before + cut and leaver not in state.helper_ids
            continue
        cut_ = next_cut(state, helper_is_new=new, helper_id=next_helper)
        if cut_.refused is not None:
            break
        assert cut_.amount_fen >= 1
        state = apply_cut(state, cut_, next_helper)
        next_helper += 1
        assert state.price_fen >= 100
    while not state.reached_target:
        cut_ = next_cut(state, helper_is_new=False, helper_id=next_helper)
        assert cut_.refused is None and cut_.amount_fen >= 1
        state = apply_cut(state, cut_, next_helper)
        next_helper += 1
    assert state.price_fen == 100 and len(state.cuts) == helpers
