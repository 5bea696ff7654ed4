"""Campaign measurement on both databases: the figures and their definitions (pure), and the 7- and
30-day retention of the customers a campaign brought against other channels, over the analytics mirror."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from siyu.growth.measurement import figures
from siyu.growth.models import CreditStatus
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, track


def _counts(**values: int) -> dict[str, int]:
    base = {"participants": 0, "link_opens": 0, "inviters": 0, "new_customers": 0, "spent_fen": 0}
    return {**base, **{f"credits_{s.value}": 0 for s in CreditStatus}, **values}


def test_k_factor_and_cost_per_new_customer_follow_their_definitions() -> None:
    found = figures(_counts(participants=10, link_opens=40, inviters=4, credits_credited=12, credits_held=2,
                            credits_denied=3, new_customers=9, spent_fen=9000))
    assert (found["k_factor"], found["viral_coefficient"], found["acceptance_rate"]) == (3.0, 1.2, 0.3)
    assert (found["invites_arrived"], found["cost_per_new_customer_fen"]) == (17, 1000)
    empty = figures(_counts())
    assert (empty["k_factor"], empty["viral_coefficient"], empty["cost_per_new_customer_fen"]) == (None, None, None)


def test_retention_of_campaign_customers_against_other_channels(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=30))
    owner = person(client, workspace, "owner")
    clock.freeze(START)
    found = campaign(client, workspace, "assist", {"helpers_needed": 5, "reward": {"cost_fen": 100}}, days=60)
    ref = join(client, workspace, found["id"], owner)["token"]
    clock.advance(timedelta(hours=1))
    for n in range(2):
        arrive(client, workspace, found["id"], "helps", ref, person(client, workspace, f"brought-{n}"))
    for n in range(2):
        answer = client.post("/v1/identify", auth=(workspace.write_key, ""), json={
            "userId": f"xhs-{n}", "traits": {"name": f"xhs-{n}"}, "timestamp": clock.now().isoformat(),
            "context": {"campaign": {"source": "xiaohongshu"}}})
        assert answer.status_code == 200
    clock.advance(timedelta(days=3))
    track(client, workspace, "brought-0", "Product Viewed", sku="LIP-01")  # back on day 3
    track(client, workspace, "xhs-0", "Product Viewed", sku="LIP-01")
    clock.advance(timedelta(days=6))  # the first 7 days are over for everyone
    answer = client.get(f"/api/campaigns/{found['id']}/measurement", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    groups = {g["group"]: g for g in answer.json()["retention"]}
    assert (groups["campaign"]["people"], groups["campaign"]["matured_7d"], groups["campaign"]["retained_7d"]) == (
        2, 2, 1)
    assert groups["campaign"]["retention_7d"] == 0.5 and groups["campaign"]["retention_30d"] is None
    assert (groups["xiaohongshu"]["people"], groups["xiaohongshu"]["retained_7d"]) == (2, 1)
    assert answer.json()["new_customers"] == 2
    assert list(groups)[0] == "campaign"
