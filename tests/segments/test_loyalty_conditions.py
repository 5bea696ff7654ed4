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


def _orders(client: Any, workspace: Any, **totals: int) -> None:
    """One ``Order Completed`` (order ``O-<user>``) per user id, of that total, through ingest now."""
    for who, total in totals.items():
        sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={
            "userId": who, "event": "Order Completed", "properties": {"order_id": f"O-{who}", "total": total},
            "timestamp": clock.now().isoformat()})
        assert sent.status_code == 200, sent.text


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
    _orders(client, workspace, mei=6000, nan=300)
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


RICH = {"loyalty": "points_balance", "op": "gte", "value": 1000}


def _loyalty_entries(runtime: Runtime, workspace: Any, profile_id: int) -> list[tuple[str, Any]]:
    """(name, properties) of the entries siyu wrote about this person: loyalty's and segments' moves."""
    from sqlalchemy import select

    from siyu.db.tables import events

    with read(runtime.engine) as conn:
        rows = conn.execute(select(events.c.name, events.c.properties).where(
            events.c.workspace_id == workspace.id, events.c.profile_id == profile_id,
            events.c.source.in_(["loyalty", "segments"])).order_by(events.c.id))
        return [(r.name, r.properties) for r in rows]


def _members_of(client: Any, workspace: Any, segment_id: int) -> list[int]:
    return client.get(f"/api/segments/{segment_id}/members", headers=workspace.bearer()).json()["profile_ids"]


def test_points_from_an_order_move_a_member_in_real_time_without_a_tier_change(runtime: Runtime, client: Any,
                                                                               workspace: Any) -> None:
    """An order earns 1,200 points (2 per yuan) but only 605 growth — still 普卡, so no Tier Changed:
    the loyalty worker's one ``Points Changed`` for the batch puts the buyer into "积分过千" and "成长值
    600+" in the same pass, not at the scheduled refresh; an operator's debit of 300 takes them out of
    the first in the next pass, the order's refund (its growth taken back) out of the second."""
    from siyu.worker import run_pass

    clock.freeze(NOON)
    make_programme(runtime, workspace, earning={"per_yuan": 2})
    buyer, bystander = person(client, workspace, "mei"), person(client, workspace, "nan")
    rich = client.post("/api/segments", headers=workspace.bearer(), json={"name": "积分过千", "definition": RICH})
    assert rich.status_code == 201, rich.text
    segment_id = rich.json()["id"]
    growing = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "成长值600+", "definition": {"loyalty": "growth_value", "op": "gte", "value": 600}}).json()["id"]
    hour = timedelta(hours=1)
    run_pass(runtime, refresh_every=hour)  # the first pass refreshes; from here on only real time moves anyone
    clock.advance(timedelta(minutes=1))
    _orders(client, workspace, mei=600, nan=100)
    result = run_pass(runtime, refresh_every=hour)
    assert workspace.id not in result.refreshed
    with read(runtime.engine) as conn:
        member = loyalty_store.get_member(conn, workspace.id, buyer)
    assert (member.tier_rank, member.points_balance, member.growth_value) == (0, 1200, 605)
    assert _members_of(client, workspace, segment_id) == _members_of(client, workspace, growing) == [buyer]
    written = _loyalty_entries(runtime, workspace, buyer)
    assert written[:2] == [("Points Changed", {"points_balance": 0, "growth_value": 5}),  # identified: activity
                           ("Points Changed", {"points_balance": 1200, "growth_value": 605})]
    assert sorted((name, e["segment_id"]) for name, e in written[2:]) == [("Segment Entered", segment_id),
                                                                           ("Segment Entered", growing)]
    assert [name for name, _ in _loyalty_entries(runtime, workspace, bystander)] == ["Points Changed"] * 2

    clock.advance(timedelta(minutes=1))
    spent = client.post(f"/api/loyalty/members/{buyer}/adjust", headers=workspace.bearer(),
                        json={"points": -300, "note": "赔付冲正", "idempotency_key": "fix-1"})
    assert spent.status_code == 201, spent.text
    result = run_pass(runtime, refresh_every=hour)
    assert workspace.id not in result.refreshed
    assert (_members_of(client, workspace, segment_id), _members_of(client, workspace, growing)) == ([], [buyer])
    assert _loyalty_entries(runtime, workspace, buyer)[-2:] == [
        ("Points Changed", {"points_balance": 900, "growth_value": 605}), ("Segment Exited", {
            "segment_id": segment_id, "segment_name": "积分过千"})]

    clock.advance(timedelta(minutes=1))
    refunded = client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "userId": "mei", "event": "Order Refunded", "properties": {"order_id": "O-mei"},
        "timestamp": clock.now().isoformat()})
    assert refunded.status_code == 200, refunded.text
    result = run_pass(runtime, refresh_every=hour)
    assert workspace.id not in result.refreshed
    assert _members_of(client, workspace, growing) == []
    assert _loyalty_entries(runtime, workspace, buyer)[-2:] == [
        ("Points Changed", {"points_balance": 0, "growth_value": 5}), ("Segment Exited", {
            "segment_id": growing, "segment_name": "成长值600+"})]


def test_points_credited_by_hand_enter_and_expired_points_leave_in_real_time(runtime: Runtime, client: Any,
                                                                             workspace: Any) -> None:
    """Credited through the API, the member enters "积分过千" in the next pass; when the lot expires,
    the nightly expiry's ``Points Changed`` takes them out in the pass that ran it — with the refresh
    a year away, so nothing but those entries can have moved them."""
    from siyu.worker import run_pass

    clock.freeze(NOON)
    make_programme(runtime, workspace, expiry={"mode": "rolling", "days": 30})
    kept, lapsed = person(client, workspace, "kai"), person(client, workspace, "lan")
    segment_id = client.post("/api/segments", headers=workspace.bearer(),
                             json={"name": "积分过千", "definition": RICH}).json()["id"]
    year = timedelta(days=365)
    run_pass(runtime, refresh_every=year)
    for who, key in ((lapsed, "gift-lan"), (kept, "gift-kai")):
        added = client.post(f"/api/loyalty/members/{who}/adjust", headers=workspace.bearer(),
                            json={"points": 1500, "note": "开业礼", "idempotency_key": key})
        assert added.status_code == 201, added.text
        clock.advance(timedelta(days=10))  # lan's lot expires ten days before kai's
    assert workspace.id not in run_pass(runtime, refresh_every=year).refreshed
    assert _members_of(client, workspace, segment_id) == sorted([kept, lapsed])
    clock.advance(timedelta(days=11))  # past the first lot's expiry and a local midnight: the nightly runs
    result = run_pass(runtime, refresh_every=year)
    assert workspace.id not in result.refreshed
    assert _members_of(client, workspace, segment_id) == [kept]
    with read(runtime.engine) as conn:
        assert loyalty_store.get_member(conn, workspace.id, lapsed).points_balance == 0
    assert _loyalty_entries(runtime, workspace, lapsed)[-2:] == [
        ("Points Changed", {"points_balance": 0, "growth_value": 5}), ("Segment Exited", {
            "segment_id": segment_id, "segment_name": "积分过千"})]
    assert [name for name, _ in _loyalty_entries(runtime, workspace, kept)] == [
        "Points Changed", "Points Changed", "Segment Entered"]  # activity growth, the credit, the move


def test_nightly_expiry_writes_one_points_changed_per_member_whose_lots_expired(runtime: Runtime, client: Any,
                                                                             workspace: Any) -> None:
    """Three members' lots (two lots for one of them) expire together: one entry each, with the
    balance left, and none for the member whose lot has not expired."""
    from siyu.loyalty import nightly
    from tests.loyalty.helpers import earn

    clock.freeze(NOON)
    make_programme(runtime, workspace)
    people = [person(client, workspace, name) for name in ("a1", "a2", "a3", "a4")]
    for n, who in enumerate(people[:3]):
        earn(runtime, workspace, who, 100 + n, f"old-{n}")
    earn(runtime, workspace, people[0], 7, "old-0b")
    clock.advance(timedelta(days=200))
    earn(runtime, workspace, people[3], 50, "new-3")
    earn(runtime, workspace, people[0], 20, "new-0")  # this lot outlives the night
    clock.advance(timedelta(days=170))
    before = {who: len(_loyalty_entries(runtime, workspace, who)) for who in people}
    assert nightly.run_nightly(runtime.engine, workspace.id, "Asia/Shanghai", clock.now()).lots_expired == 4
    written = {who: _loyalty_entries(runtime, workspace, who)[before[who]:] for who in people}
    assert written == {people[0]: [("Points Changed", {"points_balance": 20, "growth_value": 0})],
                       people[1]: [("Points Changed", {"points_balance": 0, "growth_value": 0})],
                       people[2]: [("Points Changed", {"points_balance": 0, "growth_value": 0})],
                       people[3]: []}


def test_points_changed_may_change_loyalty_conditions_only() -> None:
    """The entry re-evaluates loyalty conditions — balance, growth and tier — and no segment that reads
    nothing of loyalty (a client's own event by that name carries ids and says nothing of loyalty)."""
    from siyu.segments.facets import LogEntry, change_of, may_change, reads

    changed = change_of(LogEntry(1, 7, "Points Changed", identified=False))
    for raw in (RICH, {"loyalty": "growth_value", "op": "gt", "value": 1000}, DEFINITIONS[0],
                {"all": [{"trait": "city", "op": "eq", "value": "上海"}, RICH]}):
        assert may_change(reads(parse(raw)), changed), raw
    for raw in ({"trait": "city", "op": "eq", "value": "上海"}, {"tag": "VIP"},
                {"event": "Order Completed", "measure": "count", "op": "gte", "value": 2}):
        assert not may_change(reads(parse(raw)), changed), raw
    assert not may_change(reads(parse(RICH)), change_of(LogEntry(2, 7, "Points Changed", identified=True)))
