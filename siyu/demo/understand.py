"""After the demo brand is generated: the scores, a customer-value fit, a few segments an operator of
the articles would build first, an auto-tag rule, and the analytics mirror — so every console page
has something real to show."""

from __future__ import annotations

from typing import Any

from siyu import clock
from siyu.db.engine import read, write
from siyu.runtime import Runtime

SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("复购客户", "Repeat buyers: two or more orders.",
     {"rollup": "order_count", "op": "gte", "value": 2}),
    ("90天未下单的老客", "Bought before, nothing in 90 days: the win-back list.",
     {"all": [{"event": "Order Completed"}, {"event": "Order Completed", "did": False, "within": "90d"}]}),
    ("小红书新客", "Came from Xiaohongshu in the last 30 days.",
     {"all": [{"rollup": "first_channel", "op": "eq", "value": "xiaohongshu"},
              {"rollup": "first_seen_at", "op": "within_last", "value": "30d"}]}),
    ("高价值流失风险", "Spent 500+ but may no longer be buying (churn risk from BG/NBD).",
     {"all": [{"rollup": "total_spend", "op": "gte", "value": 500},
              {"score": "churn_risk", "op": "gte", "value": 0.3}]}),
    ("上海可触达客户", "In Shanghai, reachable by phone or WeCom.",
     {"all": [{"trait": "city", "op": "eq", "value": "上海"},
              {"any": [{"identifier": "phone"}, {"identifier": "wecom_external_userid"}]}]}),
)
BIG_SPENDER_RULE = ("高消费客户", "高消费", {"rollup": "total_spend", "op": "gte", "value": 1000})


def understand(rt: Runtime, workspace_id: int) -> dict[str, Any]:
    from siyu.analytics.clv import ClvOptions
    from siyu.analytics.clv_errors import NotEnoughData
    from siyu.analytics.clv_job import run_fit
    from siyu.analytics.mirror import sync
    from siyu.profiles import tag_store
    from siyu.segments import membership, scoring, tag_rules
    from siyu.workspaces import store as workspace_store

    now = clock.now()
    with write(rt.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
        scores = scoring.compute_all(conn, workspace_id, now, workspace.settings)
    try:
        fit = run_fit(rt.engine, workspace_id, ClvOptions(), now=now)
    except NotEnoughData:
        fit = None
    sizes = {}
    with write(rt.engine) as conn:
        for name, description, definition in SEGMENTS:
            segment = membership.save(conn, workspace_id, name=name, description=description, definition=definition,
                                      actor="demo", now=now, timezone=workspace.timezone)
            sizes[name] = segment["size"]
        rule_name, tag, definition = BIG_SPENDER_RULE
        tag_rules.create(conn, workspace_id, name=rule_name, tag=tag, action="sync", definition=definition, now=now)
    sync(rt, workspace_id, snapshot_tables=True)
    with read(rt.engine) as conn:
        tagged = next(t["profiles"] for t in tag_store.list_tags(conn, workspace_id) if t["name"] == tag)
    return {"segments": sizes, "lifecycle": scores["lifecycle"], "clv_customers": fit["customers"] if fit else 0,
            "big_spenders": tagged}
