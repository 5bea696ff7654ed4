"""The journeys' "give coupon" step given through offers: by id or name, once per step key, and the
offer's refusals as the step's outcome."""

from __future__ import annotations

from siyu import clock
from siyu.db.engine import read, write
from siyu.journeys import rewards
from siyu.offers import store
from tests.offers.helpers import make_offer, offer


def _give(runtime, workspace, params: dict, key: str, profile_id: int = 1) -> str:  # noqa: ANN001
    request = rewards.RewardRequest(workspace.id, profile_id, "coupon", params, key, clock.now())
    with write(runtime.engine) as conn:
        return rewards.give(conn, request)


def test_a_journey_gives_a_coupon_once_per_step_key(runtime, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, name="CART10", stock=2, per_person_limit=1)
    assert _give(runtime, workspace, {"offer": "CART10"}, "journey:1:1:coupon:1") == "reward.given"
    assert _give(runtime, workspace, {"offer": "CART10"}, "journey:1:1:coupon:1") == "reward.given"  # a retry
    assert offer(runtime, workspace, coupon.id).claimed == 1
    assert _give(runtime, workspace, {"offer": coupon.id}, "journey:1:1:coupon:2") == "reward.limit_reached"
    assert _give(runtime, workspace, {"offer": str(coupon.id)}, "journey:1:1:coupon:3", 2) == "reward.given"
    assert _give(runtime, workspace, {"offer": "CART10"}, "journey:1:1:coupon:4", 3) == "reward.out_of_stock"
    with read(runtime.engine) as conn:
        assert {c.channel for c in store.list_claims(conn, workspace.id, offer_id=coupon.id)} == {"journey"}


def test_an_unknown_offer_is_unavailable_and_the_journey_goes_on(runtime, workspace, other_workspace) -> None:  # noqa: ANN001
    elsewhere = make_offer(runtime, other_workspace, name="WELCOME10")
    assert _give(runtime, workspace, {"offer": "WELCOME10"}, "k1") == rewards.UNAVAILABLE
    assert _give(runtime, workspace, {"offer": elsewhere.id}, "k2") == rewards.UNAVAILABLE
    assert _give(runtime, workspace, {"offer": True}, "k3") == rewards.UNAVAILABLE
