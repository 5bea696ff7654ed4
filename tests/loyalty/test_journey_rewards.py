"""The journeys' "give points" step credited through the points ledger (both databases): the amount as
written, once per step key, to the live profile; a workspace without a programme is told so."""

from __future__ import annotations

from typing import Any

from siyu import clock
from siyu.db.engine import read, write
from siyu.journeys import rewards
from siyu.loyalty import journey_rewards, points_store, store
from siyu.loyalty.errors import MemberNotFound
from siyu.runtime import Runtime
from tests.journeys.scenario import person
from tests.journeys.test_merges import _anonymous, _merge, _owner
from tests.loyalty.helpers import NOW, balances, make_programme


def _give(runtime: Runtime, workspace: Any, profile_id: int, amount: int, key: str) -> str:
    request = rewards.RewardRequest(workspace.id, profile_id, "points", {"amount": amount}, key, clock.now())
    with write(runtime.engine) as conn:
        return rewards.give(conn, request)


def test_loyalty_registers_the_points_kind() -> None:
    assert rewards._PROVIDERS["points"] is journey_rewards.give_points


def test_the_step_credits_its_amount_once_per_step_key_without_multiplier(runtime: Runtime, client: Any,
                                                                          workspace: Any) -> None:
    clock.freeze(NOW)
    lina = person(client, workspace, "lina")
    make_programme(runtime, workspace, tiers=[{"name": "金卡", "threshold": 0, "points_multiplier": 300}],
                   expiry={"mode": "rolling", "days": 30})
    assert _give(runtime, workspace, lina, 200, "journey:4:1:points:90") == "reward.given"
    assert _give(runtime, workspace, lina, 200, "journey:4:1:points:90") == "reward.given"  # a retry: nothing more
    assert balances(runtime, workspace, lina) == (200, 200, 200)  # as written: the message promised 200
    assert _give(runtime, workspace, lina, 200, "journey:4:1:points:91") == "reward.given"  # next year's entry
    with read(runtime.engine) as conn:
        entries = points_store.list_entries(conn, workspace.id, lina)
        lots = points_store.list_lots(conn, workspace.id, lina)
    assert [(e.points, e.reason) for e in entries] == [(200, "journey:4"), (200, "journey:4")]
    assert all((lot.expires_at - lot.created_at).days == 30 for lot in lots)  # the programme's expiry
    assert balances(runtime, workspace, lina) == (400, 400, 400)


def test_without_a_programme_the_step_says_so_and_makes_no_member(runtime: Runtime, workspace: Any) -> None:
    assert _give(runtime, workspace, 7, 200, "journey:4:1:points:90") == journey_rewards.NO_PROGRAMME
    with read(runtime.engine) as conn:
        try:
            store.get_member(conn, workspace.id, 7)
            member = True
        except MemberNotFound:
            member = False
    assert not member


def test_points_for_a_merged_away_person_go_to_the_survivor(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    assert client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "u-gift"}).status_code == 200
    survivor = _owner(client, workspace, "user_id", "u-gift")
    merged_away = _anonymous(client, workspace, "anon-gift", "Product Viewed")
    _merge(client, workspace, "u-gift", "anon-gift")
    assert _give(runtime, workspace, merged_away, 50, "journey:4:1:points:92") == "reward.given"
    assert balances(runtime, workspace, survivor) == (50, 50, 50)
