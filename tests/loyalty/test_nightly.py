"""The nightly job's set-based SQL and the pure tier rules answer alike, member by member, on both
databases: generated members (growth, tier) through a period close and a grace settlement."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from siyu.db.engine import read, write
from siyu.db.tables import loyalty_members
from siyu.loyalty import nightly_store, store, tiers
from tests.loyalty.helpers import NOW

THRESHOLDS = [0, 1000, 5000, 20000]


def test_period_close_and_grace_settlement_agree_with_the_pure_rules(runtime, workspace) -> None:  # noqa: ANN001
    rnd = random.Random(7)
    people = {p: (rnd.randrange(0, 25000), rnd.randrange(0, 4)) for p in range(1, 301)}
    with write(runtime.engine) as conn:
        store.lock_members(conn, workspace.id, list(people), NOW)
        for profile_id, (growth, rank) in people.items():
            store.update_member(conn, workspace.id, profile_id, NOW, growth_value=growth, tier_rank=rank)
        nightly_store.close_period(conn, workspace.id, THRESHOLDS, NOW + timedelta(days=10), NOW)
    later = {p: rnd.randrange(0, 6000) for p in people}  # the new period's growth during the grace
    with write(runtime.engine) as conn:
        for profile_id, growth in later.items():
            store.update_member(conn, workspace.id, profile_id, NOW, growth_value=growth)
        early = nightly_store.settle_graces(conn, workspace.id, THRESHOLDS, NOW + timedelta(days=9))
        settled = nightly_store.settle_graces(conn, workspace.id, THRESHOLDS, NOW + timedelta(days=10))
    assert early == 0
    with read(runtime.engine) as conn:
        after = {r.profile_id: r for r in conn.execute(select(loyalty_members).where(
            loyalty_members.c.workspace_id == workspace.id))}
    expected_settled = 0
    for profile_id, (growth, rank) in people.items():
        close = tiers.on_period_close(THRESHOLDS, rank, growth, NOW, 10)
        final = rank if close.downgrade_to is None else tiers.on_grace_end(
            THRESHOLDS, close.downgrade_to, rank, later[profile_id])
        expected_settled += close.downgrade_to is not None
        row = after[profile_id]
        assert (row.tier_rank, row.previous_growth, row.downgrade_at) == (final, growth, None), profile_id
    assert settled == expected_settled
