"""Loyalty in the segment language (both databases): tier by name or rank, points balance and growth
value. The SQL compiler selects exactly the members the Python evaluator accepts; saved segments,
previews and real-time evaluation use it; an upgrade re-evaluates the person at once (its ``Tier
Changed`` entry), and journeys triggered by the segment or by the event start, through the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.loyalty import membership
from siyu.loyalty import store as loyalty_store
from siyu.runtime import Runtime
from siyu.segments import realtime
from siyu.segments.compile import Context, members_query
from siyu.segments.dump import dump
from siyu.segments.errors import InvalidDefinition
from siyu.segments.evaluate import Person, matches
from siyu.segments.parse import parse
from tests.journeys.scenario import NOON, entries, live, person, quiet_policy
from tests.loyalty.helpers import LADDER, make_programme

RANKS = {tier["name"]: rank for rank, tier in enumerate(LADDER)}  # 普卡 0, 银卡 1, 金卡 2
# (tier rank, points balance, growth value) of each member; "lin" is no member at all.
MEMBERS = {"ann": (0, 0, 10), "bo": (1, 500, 1500), "cai": (2, 20, 7000), "dai": (1, 100, 1500),
           "eva": (2, 900, 5000)}
DEFINITIONS = [
    {"loyalty": "tier", "op": "gte", "value": "金卡"}, {"loyalty": "tier", "op": "gte", "value": "银卡"},
    {"loyalty": "tier", "op": "gte", "value": 1}, {"loyalty": "tier", "op": "eq", "value": "普卡"},
    {"loyalty": "tier", "op": "ne", "value": "银卡"}, {"loyalty": "tier", "op": "in", "value": ["普卡", "金卡"]},
    {"loyalty": "tier", "op": "not_in", "value": [2]}, {"loyalty": "tier", "op": "lte", "value": "银卡"},
    {"loyalty": "tier", "op": "between", "value": ["银卡", 2]}, {"loyalty": "tier", "op": "gt", "value": 0},
    {"loyalty": "tier", "op": "lt", "value": "金卡"}, {"loyalty": "tier", "op": "exists"},
    {"loyalty": "tier", "op": "not_exists"}, {"loyalty": "tier", "op": "eq", "value": "钻石"},
    {"loyalty": "tier", "op": "ne", "value": "钻石"}, {"loyalty": "tier", "op": "in", "value": ["钻石", "银卡"]},
    {"loyalty": "points_balance", "op": "gte", "value": 100}, {"loyalty": "points_balance", "op": "lt", "value": 100},
    {"loyalty": "points_balance", "op": "eq", "value": 0}, {"loyalty": "points_balance", "op": "not_exists"},
    {"loyalty": "points_balance", "op": "between", "value": [10, 600]},
    {"loyalty": "growth_value", "op": "gt", "value": 1000}, {"loyalty": "growth_value", "op": "ne", "value": 1500},
    {"all": [{"loyalty": "tier", "op": "gte", "value": "银卡"},
             {"loyalty": "points_balance", "op": "gte", "value": 100}]},
    {"not": {"loyalty": "tier", "op": "gte", "value": "金卡"}},
]


def _members(runtime: Runtime, client: Any, workspace: Any) -> dict[str, int]:
    make_programme(runtime, workspace)
    people = {name: person(client, workspace, name) for name in [*MEMBERS, "lin"]}
    with write(runtime.engine) as conn:
        for name, (rank, balance, growth) in MEMBERS.items():
            loyalty_store.lock_member(conn, workspace.id, people[name], clock.now())
            loyalty_store.update_member(conn, workspace.id, people[name], clock.now(), tier_rank=rank,
                                        points_balance=balance, growth_value=growth)
    return people


@pytest.mark.parametrize("raw", [d for d in DEFINITIONS if "loyalty" in d][:4])
def test_a_loyalty_condition_reads_back_as_written(raw: dict[str, Any]) -> None:
    assert dump(parse(raw)) == raw


@pytest.mark.parametrize(("raw", "words"), [
    ({"loyalty": "level", "op": "eq", "value": 1}, "unknown loyalty field"),
    ({"loyalty": "tier", "op": "contains", "value": "金"}, "does not apply to a tier"),
    ({"loyalty": "tier", "op": "gte", "value": -1}, "0 (the entry tier) or more"),
    ({"loyalty": "tier", "op": "gte", "value": True}, "a tier's name"),
    ({"loyalty": "tier", "op": "between", "value": ["银卡"]}, "two tiers"),
    ({"loyalty": "tier", "op": "gte"}, "needs a \"value\""),
    ({"loyalty": "points_balance", "op": "gte", "value": "many"}, "expected a number"),
])
def test_bad_loyalty_conditions_say_what_is_wrong(raw: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse(raw)
    assert words in str(caught.value)


def test_sql_selects_the_members_the_evaluator_accepts(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(NOON)
    people = _members(runtime, client, workspace)
    persons = {name: Person(loyalty=dict(zip(("tier_rank", "points_balance", "growth_value"), MEMBERS[name],
                                             strict=True)) if name in MEMBERS else {}, tier_ranks=RANKS)
               for name in people}
    mine = list(people.values())
    with read(runtime.engine) as conn:
        for raw in DEFINITIONS:
            tree = parse(raw)
            selected = set(conn.execute(members_query(tree, Context(workspace.id, clock.now()))).scalars()) & set(mine)
            narrowed = set(conn.execute(members_query(tree, Context(workspace.id, clock.now(), mine))).scalars())
            expected = {people[name] for name, who in persons.items() if matches(tree, who, clock.now())}
            assert selected == narrowed == expected, raw
    gold = {people[n] for n in ("cai", "eva")}
    with read(runtime.engine) as conn:
        found = set(conn.execute(members_query(parse(DEFINITIONS[0]), Context(workspace.id, clock.now()))).scalars())
    assert found == gold  # the agreement above is not vacuous


def test_the_analytics_engine_selects_the_same_members(runtime: Runtime, client: Any, workspace: Any) -> None:
    """Large workspaces evaluate segments on DuckDB: the loyalty tables are in its snapshot."""
    from siyu.analytics.engine import open_engine
    from siyu.analytics.mirror import sync

    clock.freeze(NOON)
    people = _members(runtime, client, workspace)
    sync(runtime, workspace.id, snapshot_tables=True)
    mine = set(people.values())
    with read(runtime.engine) as conn, open_engine(runtime, workspace.id) as engine:
        for raw in DEFINITIONS:
            query = members_query(parse(raw), Context(workspace.id, clock.now()))
            operational = set(conn.execute(query).scalars()) & mine
            assert {row[0] for row in engine.execute(query)} & mine == operational, raw
    with open_engine(runtime, workspace.id) as engine:
        gold = {row[0] for row in engine.execute(members_query(parse(DEFINITIONS[0]), Context(workspace.id, NOON)))}
    assert gold == {people["cai"], people["eva"]}


def test_preview_counts_tiers_and_refuses_a_tier_the_ladder_lacks(runtime: Runtime, client: Any,
                                                                  workspace: Any) -> None:
    clock.freeze(NOON)
    _members(runtime, client, workspace)
    preview = client.post("/api/segments/preview", headers=workspace.bearer(),
                          json={"definition": {"loyalty": "tier", "op": "gte", "value": "银卡"}})
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 4
    wrong = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "钻石会员", "definition": {"loyalty": "tier", "op": "eq", "value": "钻石"}})
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["error"]["code"] == "segments.invalid_definition"
    assert "金卡" in wrong.json()["error"]["message"]


def test_an_upgrade_moves_the_member_into_a_saved_segment_in_real_time(runtime: Runtime, client: Any,
                                                                       workspace: Any) -> None:
    clock.freeze(NOON)
    people = _members(runtime, client, workspace)
    saved = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "金卡及以上", "definition": {"loyalty": "tier", "op": "gte", "value": "金卡"}})
    assert saved.status_code == 201, saved.text
    assert saved.json()["size"] == 2
    clock.advance(timedelta(minutes=5))
    with write(runtime.engine) as conn:  # bo (银卡, growth 1500) grows past 5000: upgraded, Tier Changed written
        programme, _, _ = loyalty_store.get_programme(conn, workspace.id)
        member, _ = loyalty_store.lock_member(conn, workspace.id, people["bo"], clock.now())
        assert membership.apply_growth(conn, workspace.id, programme, member, 4000, clock.now()) == 2
    with write(runtime.engine) as conn:
        progress = realtime.process_new_events(conn, workspace.id, clock.now(), "Asia/Shanghai")
    assert progress.changes == {saved.json()["id"]: (1, 0)}
    members = client.get(f"/api/segments/{saved.json()['id']}/members", headers=workspace.bearer()).json()
    assert set(members["profile_ids"]) == {people["cai"], people["eva"], people["bo"]}


def test_journeys_start_for_an_upgraded_member_through_the_worker(runtime: Runtime, client: Any,
                                                                  workspace: Any) -> None:
    """An order lifts a member to 金卡: the loyalty worker writes Tier Changed, segments move them into
    "金卡及以上" and "积分过千" (the entry re-evaluates every loyalty condition of theirs), and both
    journeys — one on entering the segment, one on Tier Changed to rank 2 or more — take them in on
    the worker's next pass; the small buyer stays out of all of it."""
    from siyu.worker import run_pass

    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    make_programme(runtime, workspace)
    buyer, bystander = person(client, workspace, "mei"), person(client, workspace, "nan")
    gold = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "金卡及以上", "definition": {"loyalty": "tier", "op": "gte", "value": "金卡"}}).json()
    rich = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "积分过千", "definition": {"loyalty": "points_balance", "op": "gte", "value": 1000}}).json()
    mail = {"channel": "email", "purpose": "marketing",
            "template": {"subject": {"zh": "欢迎升级金卡", "en": "Welcome to Gold"},
                         "text": {"zh": "您好", "en": "Hi"}}}
    on_segment = live(client, workspace, {"trigger": {"segment": gold["id"]}, "steps": [{"id": "hi", "send": mail}]})
    on_event = live(client, workspace, {
        "trigger": {"event": "Tier Changed", "where": [{"property": "to_rank", "op": "gte", "value": 2}]},
        "steps": [{"id": "hi", "send": mail}]})
    clock.advance(timedelta(minutes=1))
    for who, total in (("mei", 6000), ("nan", 300)):
        sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={
            "userId": who, "event": "Order Completed", "properties": {"order_id": f"O-{who}", "total": total},
            "timestamp": clock.now().isoformat()})
        assert sent.status_code == 200, sent.text
    run_pass(runtime)
    clock.advance(timedelta(minutes=1))
    run_pass(runtime)
    with read(runtime.engine) as conn:
        assert loyalty_store.get_member(conn, workspace.id, buyer).tier_rank == 2
        assert loyalty_store.get_member(conn, workspace.id, bystander).tier_rank == 0
    for segment in (gold, rich):
        members = client.get(f"/api/segments/{segment['id']}/members", headers=workspace.bearer()).json()
        assert members["profile_ids"] == [buyer], segment["name"]
    assert [e["profile_id"] for e in entries(runtime, workspace, on_segment["id"])] == [buyer]
    assert [e["profile_id"] for e in entries(runtime, workspace, on_event["id"])] == [buyer]


def test_tier_changed_may_change_loyalty_and_other_entries_leave_it_to_the_refresh() -> None:
    from siyu.segments.facets import Facet, LogEntry, change_of, may_change, reads

    tier = reads(parse({"loyalty": "tier", "op": "gte", "value": "金卡"}))
    assert tier.facets == {Facet.LOYALTY}
    assert may_change(tier, change_of(LogEntry(1, 7, "Tier Changed", identified=False)))
    assert not may_change(tier, change_of(LogEntry(2, 7, "Order Completed", identified=True)))
    assert not may_change(tier, change_of(LogEntry(3, 7, "Tag Added", identified=False)))
    assert not may_change(reads(parse({"trait": "city", "op": "eq", "value": "上海"})),
                          change_of(LogEntry(4, 7, "Order Completed", identified=True)))


def test_every_loyalty_option_the_builder_offers_is_a_valid_definition() -> None:
    from siyu.web.i18n import translations
    from siyu.web.segment_vocabulary import builder_vocabulary

    for locale in ("zh_CN", "en"):
        vocabulary = builder_vocabulary(translations(locale).gettext, locale, [], tiers=["普卡", "金卡"])
        labels = {field["code"]: field["label"] for field in vocabulary["loyalty"]}
        assert labels["tier"] == ("等级" if locale == "zh_CN" else "Tier")
        assert dict(vocabulary["kinds"])["loyalty"] == ("会员" if locale == "zh_CN" else "Loyalty")
        for field in vocabulary["loyalty"]:
            sample = field["choices"][0][0] if field["choices"] else 100
            for op in field["ops"]:
                node: dict[str, Any] = {"loyalty": field["code"], "op": op}
                if op in ("in", "not_in"):
                    node["value"] = [sample]
                elif op not in ("exists", "not_exists"):
                    node["value"] = sample
                parse(node)
