"""A profile merge carries the person's claims to the survivor (both databases, through the ingest
API): the claims are the survivor's, and the units held against a per-person limit add up, so two
accounts of one person merged later claim no more than the limit allows for one."""

from __future__ import annotations

from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.payments import ledger
from siyu.runtime import Runtime
from tests.journeys.test_merges import _anonymous, _merge, _owner
from tests.offers.helpers import claim, make_offer


def test_claims_and_held_units_follow_the_merge(runtime: Runtime, client: Any, workspace: Any) -> None:
    limited = make_offer(runtime, workspace, stock=10, per_person_limit=2)
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "u-merge-1"})
    assert sent.status_code == 200, sent.text
    survivor = _owner(client, workspace, "user_id", "u-merge-1")
    merged_away = _anonymous(client, workspace, "anon-merge-1", "Product Viewed")
    assert survivor != merged_away
    first = claim(runtime, workspace, limited.id, survivor, "merge-1")
    second = claim(runtime, workspace, limited.id, merged_away, "merge-2")
    assert not isinstance(first, str) and not isinstance(second, str)

    _merge(client, workspace, "u-merge-1", "anon-merge-1")
    assert _owner(client, workspace, "anonymous_id", "anon-merge-1") == survivor

    claims = client.get(f"/api/offers/{limited.id}/claims", headers=workspace.bearer())
    assert claims.status_code == 200, claims.text
    assert {c["profile_id"] for c in claims.json()} == {survivor}
    assert claim(runtime, workspace, limited.id, survivor, "merge-3") == "offers.limit_reached"  # 2 held already


def test_a_cash_reward_follows_the_merge(runtime: Runtime, client: Any, workspace: Any) -> None:
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "u-merge-2"})
    survivor = _owner(client, workspace, "user_id", "u-merge-2")
    merged_away = _anonymous(client, workspace, "anon-merge-2", "Product Viewed")
    with write(runtime.engine) as conn:
        ledger.decide_reward(conn, workspace.id, key="merge-reward", profile_id=merged_away, amount_fen=188,
                             reason="test", wishing="谢谢", act_name="test", remark="test", now=clock.now())
    _merge(client, workspace, "u-merge-2", "anon-merge-2")
    listed = client.get(f"/api/profiles/{survivor}/rewards", headers=workspace.bearer())
    assert listed.status_code == 200, listed.text
    items = listed.json() if isinstance(listed.json(), list) else listed.json()["items"]
    assert [r["amount_fen"] for r in items] == [188]
