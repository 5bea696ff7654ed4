"""The demo brand's loyalty: a ladder, members up it with their history, points that agree with
their ledgers, and a second run that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.db.engine import read
from siyu.db.tables import events, loyalty_members, tier_changes
from siyu.demo.generate import generate
from siyu.demo.loyalty import loyalty
from siyu.loyalty import points_store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_demo_brand_has_a_ladder_and_members_with_history(runtime, workspace) -> None:  # noqa: ANN001
    generate(runtime, workspace.id, customers=120, seed=3, now=NOW)
    made = loyalty(runtime, workspace.id, seed=3, now=NOW)
    assert made["members"] > 10 and made["by_tier"] >= 2 and made["redeemed"] >= 1 and made["expired_lots"] >= 1
    with read(runtime.engine) as conn:
        members = conn.execute(select(loyalty_members).where(loyalty_members.c.workspace_id == workspace.id)).all()
        upgrades = conn.execute(select(func.count()).select_from(tier_changes).where(
            tier_changes.c.workspace_id == workspace.id, tier_changes.c.reason == "upgrade")).scalar_one()
        changed = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id, events.c.name == "Tier Changed")).scalar_one()
        for member in members:
            ledger, lots = points_store.ledger_totals(conn, workspace.id, member.profile_id)
            assert member.points_balance == ledger == lots >= 0
    assert upgrades == changed > 0
    assert loyalty(runtime, workspace.id, seed=3, now=NOW) == {}
