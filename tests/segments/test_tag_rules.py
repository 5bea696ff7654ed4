"""Auto-tag rules: tags follow conditions in real time and by refresh, history names the rule, and a
sync rule never takes back a tag an operator set by hand."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read
from siyu.db.tables import events, profile_tags, tags
from siyu.runtime import Runtime
from siyu.worker import run_pass
from tests.ingest.test_pipeline import NOW, owner, send
from tests.profiles.test_cli import siyu
from tests.segments.test_api import code_of

BIG_SPENDER = {"event": "Order Completed", "measure": "sum", "property": "revenue", "op": "gte", "value": 1000,
               "within": "30d"}


def _tagged(runtime: Runtime, workspace_id: int, tag: str) -> dict[int, str]:
    with read(runtime.engine) as conn:
        rows = conn.execute(select(profile_tags.c.profile_id, profile_tags.c.source)
                            .join(tags, tags.c.id == profile_tags.c.tag_id)
                            .where(profile_tags.c.workspace_id == workspace_id, tags.c.name == tag))
        return {r.profile_id: r.source for r in rows}


def _order(user: str, revenue: float) -> dict:
    return {"type": "track", "userId": user, "event": "Order Completed", "properties": {"revenue": revenue}}


def test_a_sync_rule_follows_the_condition_and_leaves_manual_tags_alone(runtime: Runtime, workspace,
                                                                        client) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    send(runtime, workspace.id, _order("rich", 1500), _order("manual", 10), _order("poor", 10))
    headers = workspace.bearer()
    client.post("/api/tags", json={"name": "高消费"}, headers=headers)
    manual = owner(runtime, workspace.id, "user_id", "manual")
    assert client.post(f"/api/profiles/{manual}/tags", json={"add": ["高消费"]}, headers=headers).status_code == 200
    rule = client.post("/api/tag-rules", json={"name": "高消费客户", "tag": "高消费", "action": "sync",
                                               "definition": BIG_SPENDER}, headers=headers)
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["id"]
    rich, poor = owner(runtime, workspace.id, "user_id", "rich"), owner(runtime, workspace.id, "user_id", "poor")
    assert _tagged(runtime, workspace.id, "高消费") == {rich: f"rule:{rule_id}", manual: "manual"}
    clock.advance(timedelta(hours=1))
    send(runtime, workspace.id, _order("poor", 2000))  # real time: the worker tags them
    run_pass(runtime)
    assert set(_tagged(runtime, workspace.id, "高消费")) == {rich, manual, poor}
    clock.advance(timedelta(days=31))  # the orders leave the 30-day window: the refresh untags
    run_pass(runtime, refresh_every=timedelta(minutes=15))
    assert _tagged(runtime, workspace.id, "高消费") == {manual: "manual"}
    with read(runtime.engine) as conn:
        history = conn.execute(select(events.c.name, events.c.properties).where(
            events.c.workspace_id == workspace.id, events.c.profile_id == poor,
            events.c.name.in_(["Tag Added", "Tag Removed"])).order_by(events.c.id)).all()
    assert [(name, props["source"]) for name, props in history] == [
        ("Tag Added", f"rule:{rule_id}"), ("Tag Removed", f"rule:{rule_id}")]


def test_rules_are_validated_paused_and_isolated(runtime: Runtime, workspace, other_workspace,
                                                 client) -> None:  # noqa: ANN001
    headers = workspace.bearer()
    bad = client.post("/api/tag-rules", json={"name": "x", "tag": "t", "definition": {"trait": "a", "op": "gte",
                                                                                     "value": "b"}}, headers=headers)
    assert code_of(bad, 422) == "segments.invalid_definition"
    wrong = client.post("/api/tag-rules", json={"name": "x", "tag": "t", "action": "toggle",
                                                "definition": {"tag": "VIP"}}, headers=headers)
    assert code_of(wrong, 400) == "request.invalid"
    rule = client.post("/api/tag-rules", json={"name": "x", "tag": "t", "definition": {"tag": "VIP"}},
                       headers=headers).json()
    paused = client.patch(f"/api/tag-rules/{rule['id']}", json={"status": "paused"}, headers=headers)
    assert paused.json()["status"] == "paused"
    assert code_of(client.get(f"/api/tag-rules/{rule['id']}", headers=other_workspace.bearer()), 404) == \
        "tag_rules.not_found"
    assert client.get("/api/tag-rules", headers=other_workspace.bearer()).json() == []


def test_rules_from_the_cli(runtime: Runtime, database_url: str, workspace, tmp_path) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    send(runtime, workspace.id, _order("a", 5000))
    clock.unfreeze()
    definition = tmp_path / "rule.yaml"
    definition.write_text("event: Order Completed\n", encoding="utf-8")
    created = siyu(database_url, "segments", "rules", "create", "--workspace", workspace.name, "buyers",
                   str(definition), "--tag", "已购", "--json")
    assert created.returncode == 0, created.stderr
    assert len(_tagged(runtime, workspace.id, "已购")) == 1
    bad = siyu(database_url, "segments", "rules", "create", "--workspace", workspace.name, "other", str(definition),
               "--tag", "x", "--action", "flip")
    assert bad.returncode == 2 and "unknown action" in bad.stderr
