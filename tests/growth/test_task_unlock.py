"""Task unlock (任务宝) on both databases: reward tiers at invite thresholds, each with its own stock,
granted once per person per tier, and never beyond the tier's stock."""

from __future__ import annotations

from datetime import timedelta

from siyu import clock
from tests.growth.campaign_helpers import START, arrive, campaign, join, person, rewards

TIERS = {"tiers": [{"threshold": 1, "stock": 5, "reward": {"cost_fen": 100}},
                   {"threshold": 3, "stock": 1, "reward": {"cost_fen": 1000}}]}


def test_tiers_unlock_at_their_thresholds_each_within_its_stock(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START - timedelta(days=10))
    recruiters = [person(client, workspace, f"r{i}") for i in range(2)]
    clock.freeze(START)
    found = campaign(client, workspace, "task_unlock", TIERS)
    refs = [join(client, workspace, found["id"], r)["token"] for r in recruiters]
    clock.advance(timedelta(minutes=30))
    for index, ref in enumerate(refs):
        for n in range(3):
            friend = person(client, workspace, f"f{index}-{n}")
            assert arrive(client, workspace, found["id"], "invites", ref, friend,
                          device_id=f"dev-{index}-{n}").json()["status"] == "credited"
    given = sorted((r["profile_id"], r["reward_key"].split(":")[1], r["status"], r["error_code"])
                   for r in rewards(client, workspace, found["id"]))
    first, second = recruiters
    assert given == sorted([(first, "0", "granted", None), (first, "1", "granted", None),
                            (second, "0", "granted", None), (second, "1", "refused", "campaigns.stock_gone")])
    shown = client.get(f"/api/campaigns/{found['id']}", headers=workspace.bearer()).json()
    assert shown["counters"]["tier:1"] == {"cap": 1, "used": 1}
    assert shown["counters"]["tier:0"] == {"cap": 5, "used": 2}
    page = client.get(f"/c/{found['token']}", params={"lang": "zh"})
    assert "邀请 3 人：奖励剩余 0 份" in page.text and "邀请 1 人：奖励剩余 3 份" in page.text


def test_a_revoked_invite_below_a_tier_gives_its_unit_back_to_the_stock(runtime, client, workspace) -> None:  # noqa: ANN001
    from tests.growth.campaign_helpers import run_worker, track

    clock.freeze(START - timedelta(days=10))
    recruiter = person(client, workspace, "recruiter")
    clock.freeze(START)
    found = campaign(client, workspace, "task_unlock", {"tiers": [{"threshold": 2, "stock": 1, "reward": {}}]})
    ref = join(client, workspace, found["id"], recruiter)["token"]
    clock.advance(timedelta(minutes=30))
    for name in ("a", "b"):
        arrive(client, workspace, found["id"], "invites", ref, person(client, workspace, name), device_id=name)
    counters = client.get(f"/api/campaigns/{found['id']}", headers=workspace.bearer()).json()["counters"]
    assert counters["tier:0"] == {"cap": 1, "used": 1}
    clock.advance(timedelta(hours=2))
    track(client, workspace, "b", "Unfollowed")
    run_worker(runtime, client, workspace)
    counters = client.get(f"/api/campaigns/{found['id']}", headers=workspace.bearer()).json()["counters"]
    assert counters["tier:0"] == {"cap": 1, "used": 0}
    assert [r["status"] for r in rewards(client, workspace, found["id"])] == ["voided"]
