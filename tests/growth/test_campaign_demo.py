"""The demo brand's campaigns on both databases: one of each kind, run through the real paths, with
the outcomes each one is there to show; a second run changes nothing."""

from __future__ import annotations

from collections import Counter

from siyu import clock
from siyu.db.engine import read
from siyu.demo.campaigns import campaigns
from siyu.growth import rewards_store, store
from siyu.growth.models import CampaignKind
from siyu.offers import store as offers_store
from tests.growth.campaign_helpers import START


def test_the_demo_runs_one_campaign_of_each_kind(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    done = campaigns(runtime, workspace.id, seed=7)
    assert done["campaigns"] == 8 and done["settled"] == 1 and done["qualified"] == 6
    with read(runtime.engine) as conn:
        made = {c.kind: c for c in store.list_campaigns(conn, workspace.id)}
        assert set(made) == set(CampaignKind)

        def credits(kind: CampaignKind) -> Counter:
            return Counter(c.status.value for c in store.credits_of_campaign(conn, workspace.id, made[kind].id))

        def rewards(kind: CampaignKind) -> Counter:
            return Counter(r.status.value for r in rewards_store.list_rewards(conn, workspace.id, made[kind].id))

        # 2 × (3 ordered + 1 never did), and a farm phone: 2 allowed but never ordered, the third held
        assert credits(CampaignKind.REFERRAL) == {"credited": 6, "expired": 4, "held": 1}
        assert rewards(CampaignKind.REFERRAL) == {"granted": 12}
        assert rewards(CampaignKind.ASSIST) == {"granted": 1}
        assert rewards(CampaignKind.TASK_UNLOCK) == {"granted": 3}
        assert rewards(CampaignKind.LEADERBOARD) == {"granted": 3}
        assert rewards(CampaignKind.GROUP_BUY) == {"granted": 3, "voided": 2}
        assert rewards(CampaignKind.BARGAIN) == {"granted": 1}
        split = rewards_store.list_rewards(conn, workspace.id, made[CampaignKind.SPLIT_COUPON].id)
        assert len(split) == 5 and sum(r.cost_fen for r in split) == 5000

        def worth(kind: CampaignKind) -> Counter:
            """(claim status, the claim's own face value) of the campaign's rewards' coupons."""
            found = rewards_store.list_rewards(conn, workspace.id, made[kind].id)
            claims = [offers_store.get_claim(conn, workspace.id, r.claim_id) for r in found if r.claim_id]
            assert len(claims) == len(found)  # every one of them holds a real coupon
            return Counter((c.status.value, c.amount_fen) for c in claims)

        # list 99 yuan: the filled group's leader saves 50, its members 40; the failed group's are voided
        assert worth(CampaignKind.GROUP_BUY) == {("claimed", 5000): 1, ("claimed", 4000): 2,
                                                 ("voided", 5000): 1, ("voided", 4000): 1}
        assert worth(CampaignKind.BARGAIN) == {("claimed", 19900 - 990): 1}
        assert sorted(amount for _, amount in worth(CampaignKind.SPLIT_COUPON).elements()) == sorted(
            r.cost_fen for r in split)
        assert rewards(CampaignKind.CHECK_IN) == {"granted": 2}
    assert campaigns(runtime, workspace.id, seed=7) == {}
