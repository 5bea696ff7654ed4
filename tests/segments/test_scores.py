"""Built-in scores: the RFM map and quintiles, lifecycle stages from the brand's own gaps, KOC points."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import profile_scores
from siyu.runtime import Runtime
from siyu.segments import scoring
from siyu.segments.scores import (
    DEFAULT_THRESHOLDS,
    RFM_SEGMENT_NAMES,
    KocWeights,
    LifecycleThresholds,
    lifecycle_stage,
    quintile,
    rfm_segment,
    thresholds_from_gaps,
)
from tests.ingest.test_pipeline import NOW, owner, send


def test_every_rfm_cell_has_a_named_segment() -> None:
    names = {rfm_segment(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert names == set(RFM_SEGMENT_NAMES)
    assert rfm_segment(5, 5) == "champions" and rfm_segment(1, 1) == "hibernating"
    assert rfm_segment(1, 5) == "cant_lose" and rfm_segment(5, 1) == "new_customers"
    with pytest.raises(ValueError):
        rfm_segment(6, 1)


def test_quintiles_split_ranks_into_five_equal_bands() -> None:
    assert [quintile(rank, 10) for rank in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile(1, 1) == 1 and quintile(3, 3) == 4


@pytest.mark.parametrize(("orders", "since_last", "gap", "stage"), [
    (0, None, None, None),
    (1, 10, None, "new"),
    (1, 100, None, "dormant"),
    (3, 200, 30, "churned"),
    (2, 5, 35, "active"),
    (2, 5, 400, "won_back"),
    (2, 95, 400, "dormant"),
])
def test_lifecycle_stages(orders: int, since_last: float | None, gap: float | None, stage: str | None) -> None:
    assert lifecycle_stage(order_count=orders, days_since_last_order=since_last, days_between_last_two_orders=gap,
                           thresholds=DEFAULT_THRESHOLDS) == stage


def test_thresholds_come_from_the_brands_gaps_unless_too_few_or_overridden() -> None:
    assert thresholds_from_gaps(60.0, 200.0, 500) == LifecycleThresholds(60, 200, "data", 500)
    assert thresholds_from_gaps(20.0, 30.0, 500).churned_days == 40  # twice the active window
    assert thresholds_from_gaps(3.0, 5.0, 500).active_days == 14  # clamped
    assert thresholds_from_gaps(60.0, 200.0, 10).source == "default"
    chosen = thresholds_from_gaps(60.0, 200.0, 500, {"lifecycle": {"active_days": 30, "churned_days": 120}})
    assert (chosen.active_days, chosen.churned_days, chosen.source) == (30, 120, "settings")
    assert KocWeights.from_settings({"koc": {"weights": {"shares": 3}}}).shares == 3.0


def _order(user: str, days_ago: int, revenue: float) -> dict:
    return {"type": "track", "userId": user, "event": "Order Completed", "properties": {"revenue": revenue},
            "timestamp": (NOW - timedelta(days=days_ago)).isoformat()}


def test_scores_for_a_workspace(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    send(runtime, workspace.id,
         _order("new", 10, 100),
         _order("dormant", 200, 50), _order("dormant", 100, 50),
         _order("churned", 200, 80),
         _order("won", 400, 500), _order("won", 5, 500),
         _order("active", 40, 300), _order("active", 5, 300),
         {"type": "identify", "userId": "browser"},
         {"type": "track", "userId": "koc", "event": "Invite Sent"},
         {"type": "track", "userId": "koc", "event": "Invite Sent"},
         {"type": "track", "userId": "koc", "event": "Product Shared"},
         {"type": "track", "userId": "friend", "event": "Invite Accepted", "properties": {"inviter": "koc"}},
         {"type": "track", "userId": "koc", "event": "Invite Accepted", "properties": {"inviter": "koc"}},
         _order("friend", 1, 10))
    with write(runtime.engine) as conn:
        summary = scoring.compute_all(conn, workspace.id, NOW, {})
    assert summary["buyers"] == 6 and summary["lifecycle_thresholds"]["source"] == "default"
    pid = {user: owner(runtime, workspace.id, "user_id", user) for user in
           ("new", "dormant", "churned", "won", "active", "browser", "koc", "friend")}
    with read(runtime.engine) as conn:
        rows = {r.profile_id: r for r in conn.execute(select(profile_scores).where(
            profile_scores.c.workspace_id == workspace.id))}
    stages = {user: rows[p].lifecycle_stage if p in rows else None for user, p in pid.items()}
    assert stages == {"new": "new", "dormant": "dormant", "churned": "churned", "won": "won_back",
                      "active": "active", "browser": None, "koc": None, "friend": "new"}
    # Recency ranks among six buyers (oldest last order first): churned, dormant, new, {won, active}, friend.
    assert rows[pid["churned"]].rfm_recency == 1 and rows[pid["friend"]].rfm_recency == 5
    assert rows[pid["won"]].rfm_recency == rows[pid["active"]].rfm_recency == quintile(4, 6)
    assert rows[pid["won"]].rfm_monetary == 5 and rows[pid["friend"]].rfm_monetary == 1
    # Three buyers with two orders share the top frequency rank (4 of 6).
    assert {rows[pid[u]].rfm_frequency for u in ("dormant", "won", "active")} == {quintile(4, 6)}
    assert rows[pid["won"]].rfm_segment == rfm_segment(rows[pid["won"]].rfm_recency, rows[pid["won"]].rfm_frequency)
    # KOC: 1 share + 2 invites + 1 accepted invitee who bought; the self-invite does not count.
    assert rows[pid["koc"]].koc_score == 1 + 2 * 2 + 5 + 20
    with read(runtime.engine) as conn:
        report = scoring.rfm_report(conn, workspace.id)
    assert sum(cell["customers"] for cell in report["grid"]) == 6
    assert sum(s["customers"] for s in report["segments"]) == 6


def test_scores_over_http_and_the_worker_computes_them_daily(runtime: Runtime, workspace, other_workspace,
                                                             client) -> None:  # noqa: ANN001
    from siyu.worker import run_pass

    clock.freeze(NOW)
    send(runtime, workspace.id, _order("a", 3, 10), _order("b", 300, 20))
    result = run_pass(runtime)
    assert workspace.id in result.scored
    assert workspace.id not in run_pass(runtime).scored, "at most once a day"
    clock.advance(timedelta(hours=25))
    assert workspace.id in run_pass(runtime).scored
    lifecycle = client.get("/api/scores/lifecycle", headers=workspace.bearer()).json()
    counts = {s["stage"]: s["customers"] for s in lifecycle["stages"]}
    assert counts["new"] == 1 and counts["churned"] == 1 and lifecycle["thresholds"]["active_days"] == 90
    computed = client.post("/api/scores/compute", headers=workspace.bearer())
    assert computed.status_code == 200 and computed.json()["buyers"] == 2
    rfm = client.get("/api/scores/rfm", headers=workspace.bearer()).json()
    assert sum(s["customers"] for s in rfm["segments"]) == 2
    empty = client.get("/api/scores/rfm", headers=other_workspace.bearer()).json()
    assert sum(s["customers"] for s in empty["segments"]) == 0 and empty["grid"] == []
    assert client.get("/api/scores/koc", headers=other_workspace.bearer()).json() == []
