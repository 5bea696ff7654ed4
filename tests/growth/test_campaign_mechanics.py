"""Group buy, bargain, split coupon and check-in campaigns on both databases, wired to the pure
mechanics: travelling in time to deadlines, with every grant through the campaign's rewards."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards, run_worker


def _state(client, workspace, campaign_id: int, profile_id: int) -> dict:  # noqa: ANN001
    answer = client.get(f"/api/campaigns/{campaign_id}/participants/{profile_id}", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_full_group_keeps_its_claims_and_a_timed_out_one_voids_them(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "group_buy", {
        "group_size": 3, "time_limit_hours": 24, "leader_price_fen": 4900, "member_price_fen": 5900,
        "leader_reward": {"cost_fen": 100}, "member_reward": {"cost_fen": 100}})
    lead_a, lead_b = person(client, workspace, "lead-a"), person(client, workspace, "lead-b")
    ref_a = join(client, workspace, found["id"], lead_a)["token"]
    ref_b = join(client, workspace, found["id"], lead_b)["token"]
    members = [person(client, workspace, f"m{i}") for i in range(4)]
    for index, member in enumerate(members[:2]):
        assert arrive(client, workspace, found["id"], "joins", ref_a, member,
                      device_id=f"a{index}").json()["status"] == "credited"
    assert _state(client, workspace, found["id"], lead_a)["phase"] == "done"
    extra = arrive(client, workspace, found["id"], "joins", ref_a, members[2], device_id="a2").json()
    assert extra["status"] == "expired" and extra["reasons"][-1]["code"] == "not_open"
    arrive(client, workspace, found["id"], "joins", ref_b, members[3], device_id="b0")
    clock.advance(timedelta(hours=24, minutes=1))
    assert run_worker(runtime, client, workspace)["closed"] == 1
    assert _state(client, workspace, found["id"], lead_b)["phase"] == "failed"
    by_person = {r["profile_id"]: r["status"] for r in rewards(client, workspace, found["id"])}
    assert by_person == {lead_a: "granted", members[0]: "granted", members[1]: "granted",
                         lead_b: "voided", members[3]: "voided"}
    figures = client.get(f"/api/campaigns/{found['id']}/measurement", params={"retention": "false"},
                         headers=workspace.bearer()).json()
    assert figures["phases"] == {"done": 1, "failed": 1} and "retention" not in figures


def test_a_bargain_reaches_the_target_exactly_at_the_nth_helper(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "bargain", {
        "start_price_fen": 10_000, "target_price_fen": 100, "expected_helpers": 4, "reward": {"cost_fen": 9900}})
    owner = person(client, workspace, "owner")
    join(client, workspace, found["id"], owner)
    ref = _state(client, workspace, found["id"], owner)["token"]
    helpers = [person(client, workspace, f"cut{i}") for i in range(5)]
    for index, helper in enumerate(helpers[:3]):
        arrive(client, workspace, found["id"], "helps", ref, helper, device_id=f"c{index}")
    state = _state(client, workspace, found["id"], owner)
    cuts = state["state"]["cuts"]
    assert len(cuts) == 3 and all(cut >= 1 for cut in cuts)
    assert 10_000 - sum(cuts) > 100 and rewards(client, workspace, found["id"]) == []
    arrive(client, workspace, found["id"], "helps", ref, helpers[3], device_id="c3")
    state = _state(client, workspace, found["id"], owner)
    assert 10_000 - sum(state["state"]["cuts"]) == 100 and state["phase"] == "done"
    assert [r["reward_key"] for r in rewards(client, workspace, found["id"])] == [f"bargain:{state['id']}"]
    late = arrive(client, workspace, found["id"], "helps", ref, helpers[4], device_id="c4").json()
    assert late["status"] == "expired" and late["reasons"][-1]["code"] == "target_reached"


def test_a_split_coupon_shares_the_pool_exactly_among_k_claimers(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "split_coupon", {"pool_fen": 1000, "claimers": 3, "minimum_fen": 50})
    sharer = person(client, workspace, "sharer")
    ref = join(client, workspace, found["id"], sharer)["token"]
    friends = [person(client, workspace, f"s{i}") for i in range(3)]
    answers = [arrive(client, workspace, found["id"], "joins", ref, f, device_id=f"s{i}").json()
               for i, f in enumerate(friends)]
    assert [a["status"] for a in answers] == ["credited", "credited", "expired"]
    shares = rewards(client, workspace, found["id"])
    assert sum(r["cost_fen"] for r in shares) == 1000 and all(r["cost_fen"] >= 50 for r in shares)
    assert {r["profile_id"] for r in shares} == {sharer, friends[0], friends[1]}


def test_check_in_streaks_reward_once_per_run_and_make_up_cards_fill_a_gap(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)  # 10:00 in Shanghai
    found = campaign(client, workspace, "check_in", {"streak_rewards": {"3": {"cost_fen": 100}},
                                                     "makeup_cards": 1})
    someone = person(client, workspace, "daily")

    def check(**body):  # noqa: ANN003, ANN202
        return client.post(f"/api/campaigns/{found['id']}/check-ins", json={"profile_id": someone, **body},
                           headers=workspace.bearer())

    assert check().json()["streak"] == 1
    twice = check()
    assert (twice.status_code, twice.json()["error"]["details"]["reason"]) == (409, "already_checked_in")
    clock.advance(timedelta(days=2))  # a day missed
    assert check().json()["streak"] == 1
    filled = check(make_up_day=(START + timedelta(days=1)).date().isoformat()).json()
    assert (filled["streak"], filled["cards"], len(filled["rewards"])) == (3, 0, 1)
    clock.advance(timedelta(days=1))
    assert check().json() == {"streak": 4, "cards": 0, "rewards": []}
    assert len(rewards(client, workspace, found["id"])) == 1


def test_an_auto_filled_group_keeps_its_claims_at_the_deadline(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "group_buy", {
        "group_size": 3, "time_limit_hours": 2, "leader_price_fen": 4900, "member_price_fen": 5900,
        "auto_fill": True, "auto_fill_within": 1, "member_reward": {"cost_fen": 100}})
    leader = person(client, workspace, "leader")
    ref = join(client, workspace, found["id"], leader)["token"]
    member = person(client, workspace, "member")
    arrive(client, workspace, found["id"], "joins", ref, member)
    clock.advance(timedelta(hours=2))
    assert run_worker(runtime, client, workspace)["closed"] == 1
    state = _state(client, workspace, found["id"], leader)
    assert (state["phase"], state["state"]["auto_filled"], state["state"]["status"]) == ("done", 1, "filled")
    assert [r["status"] for r in rewards(client, workspace, found["id"])] == ["granted"]
