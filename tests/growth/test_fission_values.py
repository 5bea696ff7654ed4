"""What a fission campaign's coupons are worth, on both databases, through the HTTP API: a split
coupon's claims are worth their shares and add up to the pool (however small it is against the
offer's own amount), a bargain's is worth what was bargained off, a group buy's what the group price
saves against the list price — and the budget, the measurement and the public page say the same.
A campaign whose offer can't carry those values is refused when saved or launched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.growth import store
from siyu.growth.models import CampaignStatus
from tests.growth.campaign_helpers import (
    DESCRIPTION,
    OPERATOR,
    START,
    arrive,
    campaign,
    join,
    person,
    rewards,
    run_worker,
)


def _offer(client, workspace, **values) -> int:  # noqa: ANN001
    body = {"name": "立减券", "kind": "fixed_amount", "amount_fen": 1000, "stock": 100, "per_person_limit": 1,
            **values}
    answer = client.post("/api/offers", headers=workspace.bearer(), json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _claims(client, workspace, offer_id: int) -> dict[int, dict]:  # noqa: ANN001
    """The offer's claims (granted, whatever their status) by person."""
    answer = client.get(f"/api/offers/{offer_id}/claims", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return {c["profile_id"]: c for c in answer.json()}


def _redeem(client, workspace, code: str, amount_fen: int) -> dict:  # noqa: ANN001
    answer = client.post(f"/api/claims/{code}/redeem", headers=workspace.bearer(),
                         json={"order_id": f"order-{code}", "amount_fen": amount_fen, "idempotency_key": code})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _refusal(client, workspace, kind: str, rules: dict) -> dict:  # noqa: ANN001
    answer = client.post("/api/campaigns", headers=workspace.bearer(), json={
        "kind": kind, "name": "refused", "rules": {"description": DESCRIPTION, **rules}, "operator": OPERATOR,
        "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z"})
    assert answer.status_code == 422, answer.text
    return answer.json()["error"]


def test_a_split_pool_smaller_than_k_coupons_gives_each_claimer_exactly_their_share(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    offer_id = _offer(client, workspace)  # 1,000 fen a coupon: three would be 3,000 from a 2,000 pool
    found = campaign(client, workspace, "split_coupon", {"pool_fen": 2000, "claimers": 3, "minimum_fen": 100,
                                                        "offer_id": offer_id}, budget_fen=10_000, name="瓜分")
    sharer = person(client, workspace, "sharer")
    ref = join(client, workspace, found["id"], sharer)["token"]
    friends = [person(client, workspace, f"friend{i}") for i in range(2)]
    for index, friend in enumerate(friends):
        assert arrive(client, workspace, found["id"], "joins", ref, friend, device_id=f"d{index}").json()[
            "status"] == "credited"

    shares = {r["profile_id"]: r["cost_fen"] for r in rewards(client, workspace, found["id"])}
    claims = _claims(client, workspace, offer_id)
    assert {p: c["amount_fen"] for p, c in claims.items()} == shares  # each coupon worth its share
    assert sum(shares.values()) == 2000 and all(share >= 100 for share in shares.values())
    assert all(c["cost_fen"] == shares[p] for p, c in claims.items())
    for profile_id, share in shares.items():  # an order big enough for any coupon: each takes off its share
        assert _redeem(client, workspace, claims[profile_id]["code"], 5000)["discount_fen"] == share

    key = next(r["reward_key"] for r in rewards(client, workspace, found["id"]) if r["profile_id"] == friends[0])
    retried = client.post(f"/api/offers/{offer_id}/claims", headers=workspace.bearer(), json={
        "profile_id": friends[0], "idempotency_key": f"campaign:{found['id']}:{key}"})
    assert retried.status_code == 201, retried.text
    assert (retried.json()["id"], retried.json()["amount_fen"]) == (claims[friends[0]]["id"], shares[friends[0]])

    figures = client.get(f"/api/campaigns/{found['id']}/measurement", params={"retention": "false"},
                         headers=workspace.bearer()).json()
    assert (figures["spent_fen"], figures["budget_left_fen"]) == (2000, 8000)  # the shares, not 3 × 1,000
    assert figures["new_customers"] == 2 and figures["cost_per_new_customer_fen"] == 1000


@pytest.mark.parametrize(("cost", "expected_cost"), [(None, 9900), (3000, 3000)])
def test_a_bargain_that_reaches_its_target_gives_a_coupon_worth_what_was_cut(client, workspace, cost: int | None,  # noqa: ANN001
                                                                              expected_cost: int) -> None:
    clock.freeze(START)
    offer_id = _offer(client, workspace, amount_fen=500)
    reward = {"offer_id": offer_id} | ({} if cost is None else {"cost_fen": cost})
    found = campaign(client, workspace, "bargain", {"start_price_fen": 10_000, "target_price_fen": 100,
                                                    "expected_helpers": 3, "reward": reward}, name="砍价")
    owner = person(client, workspace, "owner")
    ref = join(client, workspace, found["id"], owner)["token"]
    for index in range(3):
        arrive(client, workspace, found["id"], "helps", ref, person(client, workspace, f"h{index}"),
               device_id=f"h{index}")
    [granted] = rewards(client, workspace, found["id"])
    mine = _claims(client, workspace, offer_id)[owner]
    assert (granted["profile_id"], granted["cost_fen"]) == (owner, expected_cost)  # the operator's, or the cut
    assert (mine["amount_fen"], mine["cost_fen"]) == (10_000 - 100, expected_cost)
    assert _redeem(client, workspace, mine["code"], 10_000)["discount_fen"] == 9900  # pays the target price


def test_a_group_buy_s_coupons_are_worth_what_each_price_saves_and_a_failed_group_voids_them(
        runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    offer_id = _offer(client, workspace)
    spec = {"offer_id": offer_id}
    found = campaign(client, workspace, "group_buy", {
        "group_size": 3, "time_limit_hours": 24, "list_price_fen": 9900, "leader_price_fen": 4900,
        "member_price_fen": 5900, "leader_reward": spec, "member_reward": spec}, budget_fen=100_000, name="拼团")
    lead_a, lead_b = person(client, workspace, "lead-a"), person(client, workspace, "lead-b")
    ref_a = join(client, workspace, found["id"], lead_a)["token"]
    ref_b = join(client, workspace, found["id"], lead_b)["token"]
    members = [person(client, workspace, f"m{i}") for i in range(3)]
    for index, member in enumerate(members[:2]):
        arrive(client, workspace, found["id"], "joins", ref_a, member, device_id=f"a{index}")
    arrive(client, workspace, found["id"], "joins", ref_b, members[2], device_id="b0")
    worth = {p: (c["amount_fen"], c["status"]) for p, c in _claims(client, workspace, offer_id).items()}
    assert worth == {lead_a: (5000, "claimed"), lead_b: (5000, "claimed"), members[0]: (4000, "claimed"),
                     members[1]: (4000, "claimed"), members[2]: (4000, "claimed")}

    clock.advance(timedelta(hours=24, minutes=1))
    assert run_worker(runtime, client, workspace)["closed"] == 1  # group b is one short: it fails
    worth = {p: (c["amount_fen"], c["status"]) for p, c in _claims(client, workspace, offer_id).items()}
    assert worth[lead_b] == (5000, "voided") and worth[members[2]] == (4000, "voided")
    assert [worth[p][1] for p in (lead_a, *members[:2])] == ["claimed"] * 3
    figures = client.get(f"/api/campaigns/{found['id']}/measurement", params={"retention": "false"},
                         headers=workspace.bearer()).json()
    assert figures["spent_fen"] == 5000 + 2 * 4000  # the failed group's savings went back to the budget


def test_the_public_page_and_the_api_show_the_group_and_bargain_prices(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "group_buy", {
        "group_size": 3, "list_price_fen": 9900, "leader_price_fen": 4900, "member_price_fen": 5900}, name="拼团")
    chinese = client.get(f"/c/{found['token']}", params={"lang": "zh"})
    assert "原价 ¥99.00" in chinese.text and "团长价 ¥49.00，团员价 ¥59.00" in chinese.text
    english = client.get(f"/c/{found['token']}", params={"lang": "en"})
    assert "List price ¥99.00" in english.text and "Leader&#39;s price ¥49.00, members&#39; price ¥59.00" in \
        english.text
    shown = client.get(f"/api/campaigns/{found['id']}", headers=workspace.bearer()).json()["rules"]
    assert (shown["list_price_fen"], shown["leader_price_fen"], shown["member_price_fen"]) == (9900, 4900, 5900)
    bargain = campaign(client, workspace, "bargain", {"start_price_fen": 19_900, "target_price_fen": 990,
                                                      "expected_helpers": 5}, name="砍价")
    assert "从 ¥199.00 砍到 ¥9.90" in client.get(f"/c/{bargain['token']}", params={"lang": "zh"}).text
    split = campaign(client, workspace, "split_coupon", {"pool_fen": 5000, "claimers": 5, "minimum_fen": 100},
                     name="瓜分")
    assert "A pool of ¥50.00 shared among 5 people" in client.get(f"/c/{split['token']}", params={"lang": "en"}).text


def test_a_split_coupon_s_offer_must_be_worth_an_amount_it_can_carry(client, workspace) -> None:  # noqa: ANN001
    split = {"pool_fen": 2000, "claimers": 3, "minimum_fen": 100}
    percentage = _offer(client, workspace, kind="percentage", amount_fen=None, percent_off=20)
    refused = _refusal(client, workspace, "split_coupon", {**split, "offer_id": percentage})
    assert refused["code"] == "campaigns.offer_not_amount"
    assert refused["details"] == {"field": "offer_id", "offer_id": percentage, "kind": "percentage"}
    red_packet = _offer(client, workspace, kind="red_packet", amount_fen=200)
    too_small = _refusal(client, workspace, "split_coupon", {**split, "minimum_fen": 50, "offer_id": red_packet})
    assert too_small["code"] == "campaigns.face_value_out_of_range"  # WeChat Pay pays no red packet under 1 yuan
    assert (too_small["details"]["worth"], too_small["details"]["allowed"]) == ([50, 1900], [100, 20_000])
    assert _refusal(client, workspace, "split_coupon", {**split, "offer_id": 999_999})["code"] == \
        "campaigns.offer_not_found"
    checked = client.post("/api/campaigns/validate", headers=workspace.bearer(), json={
        "kind": "split_coupon", "rules": {"description": DESCRIPTION, **split, "offer_id": percentage}}).json()
    assert checked["valid"] is False  # the editor says so as the rules are typed
    assert [(e["loc"], e["type"]) for e in checked["errors"]] == [("offer_id", "campaigns.offer_not_amount")]
    assert campaign(client, workspace, "split_coupon", {**split, "offer_id": red_packet}, name="拼手气红包")


def test_a_group_buy_with_an_amount_valued_offer_needs_a_list_price_above_both_prices(client, workspace) -> None:  # noqa: ANN001
    offer_id = _offer(client, workspace)
    group = {"group_size": 3, "leader_price_fen": 4900, "member_price_fen": 5900,
             "member_reward": {"offer_id": offer_id}}
    missing = _refusal(client, workspace, "group_buy", group)
    assert (missing["code"], missing["details"]["field"]) == ("campaigns.list_price_required", "list_price_fen")
    low = _refusal(client, workspace, "group_buy", {**group, "list_price_fen": 5900})
    assert low["code"] == "campaigns.invalid_rules" and "above both" in low["details"]["errors"][0]["message"]
    gift = _offer(client, workspace, kind="free_gift", amount_fen=None, gift_name="小样")
    assert campaign(client, workspace, "group_buy", {**group, "member_reward": {"offer_id": gift}}, name="赠品团")


def test_a_draft_saved_before_the_check_is_refused_at_launch(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    fixed = _offer(client, workspace)
    draft = campaign(client, workspace, "split_coupon", {"pool_fen": 2000, "claimers": 3, "offer_id": fixed},
                     launch=False, name="旧草稿")
    percentage = _offer(client, workspace, kind="percentage", amount_fen=None, percent_off=20)
    with write(runtime.engine) as conn:  # as a draft saved by an older siyu could be
        store.update_campaign(conn, workspace.id, draft["id"], clock.now(), expected_status=CampaignStatus.DRAFT,
                              rules={**draft["rules"], "offer_id": percentage})
    launched = client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer())
    assert (launched.status_code, launched.json()["error"]["code"]) == (422, "campaigns.offer_not_amount")
