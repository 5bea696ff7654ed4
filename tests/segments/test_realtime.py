"""Real-time evaluation follows the log: each new event re-evaluates its person once, membership
changes become Segment Entered / Exited events, and the scheduled refresh catches the passing of time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.profiles import tag_store
from siyu.profiles.models import TagGroupKind
from siyu.profiles.tagging import tag_profiles
from siyu.runtime import Runtime
from siyu.segments import membership, realtime, store
from siyu.worker import run_pass
from tests.ingest.test_pipeline import NOW, send
from tests.profiles.test_cli import siyu

REPEAT_BUYERS = {"event": "Order Completed", "measure": "count", "op": "gte", "value": 2, "within": "30d"}


def _save(runtime: Runtime, workspace_id: int, name: str, definition: dict) -> int:
    with write(runtime.engine) as conn:
        return membership.save(conn, workspace_id, name=name, description=None, definition=definition, actor="test",
                               now=clock.now(), timezone="Asia/Shanghai")["id"]


def _segment_events(runtime: Runtime, workspace_id: int) -> list[tuple[str, int]]:
    with read(runtime.engine) as conn:
        rows = conn.execute(select(events.c.name, events.c.profile_id).where(
            events.c.workspace_id == workspace_id, events.c.source == "segments").order_by(events.c.id))
        return [(r.name, r.profile_id) for r in rows]


def test_the_second_order_enters_the_person_and_time_takes_them_out(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    segment_id = _save(runtime, workspace.id, "复购", REPEAT_BUYERS)
    send(runtime, workspace.id, {"type": "track", "userId": "a", "event": "Order Completed",
                                 "properties": {"revenue": 99}})
    run_pass(runtime)
    assert _segment_events(runtime, workspace.id) == []
    clock.advance(timedelta(days=2))
    send(runtime, workspace.id, {"type": "track", "userId": "a", "event": "Order Completed",
                                 "properties": {"revenue": 99}})
    result = run_pass(runtime)
    assert result.events >= 1
    [(name, person)] = _segment_events(runtime, workspace.id)
    assert name == "Segment Entered"
    run_pass(runtime)
    assert len(_segment_events(runtime, workspace.id)) == 1, "a second pass repeats nothing"
    clock.advance(timedelta(days=29))  # the first order leaves the 30-day window: no event says so
    result = run_pass(runtime, refresh_every=timedelta(minutes=15))
    assert workspace.id in result.refreshed
    assert _segment_events(runtime, workspace.id) == [("Segment Entered", person), ("Segment Exited", person)]
    with read(runtime.engine) as conn:
        sizes = conn.execute(select(events.c.properties).where(
            events.c.workspace_id == workspace.id, events.c.source == "segments")).scalars().all()
    assert all(p["segment_id"] == segment_id for p in sizes)


def test_unrelated_events_do_not_reevaluate_event_only_segments(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    _save(runtime, workspace.id, "viewers", {"event": "Product Viewed"})
    with write(runtime.engine) as conn:
        changes = membership.evaluate_profiles(conn, workspace.id, [1, 2, 3], {"Order Completed"}, NOW,
                                               "Asia/Shanghai", profile_changed=False)
    assert changes == {}


def test_the_worker_command_runs_one_pass(runtime: Runtime, database_url: str, workspace) -> None:
    clock.freeze(NOW)
    _save(runtime, workspace.id, "buyers", {"event": "Order Completed"})
    clock.unfreeze()
    send(runtime, workspace.id, {"type": "track", "userId": "z", "event": "Order Completed",
                                 "properties": {"revenue": 5}})
    result = siyu(database_url, "worker", "--once")
    assert result.returncode == 0, result.stderr
    assert [name for name, _ in _segment_events(runtime, workspace.id)] == ["Segment Entered"]


def _real_time(runtime: Runtime, workspace_id: int) -> None:
    """The worker's real-time step alone (run_pass would also run the scheduled refresh when due)."""
    while True:
        with write(runtime.engine) as conn:
            if realtime.process_new_events(conn, workspace_id, clock.now(), "Asia/Shanghai").events == 0:
                return


def _members(runtime: Runtime, workspace_id: int, segment_id: int) -> set[int]:
    with read(runtime.engine) as conn:
        return set(store.member_ids(conn, workspace_id, segment_id, limit=1000))


def test_a_newcomer_enters_segments_their_first_event_says_nothing_about(runtime: Runtime, workspace) -> None:
    """A new person has no stored answer yet: every segment is evaluated for them."""
    clock.freeze(NOW)
    no_city = _save(runtime, workspace.id, "no city", {"trait": "city", "op": "not_exists"})
    never_ordered = _save(runtime, workspace.id, "never ordered", {"not": {"event": "Order Completed"}})
    result = send(runtime, workspace.id, {"type": "track", "anonymousId": "new-1", "event": "Product Viewed"})
    [person] = set(result.profile_ids.values())
    _real_time(runtime, workspace.id)
    assert person in _members(runtime, workspace.id, no_city)
    assert person in _members(runtime, workspace.id, never_ordered)


def test_a_merge_brings_the_survivor_up_to_date_and_empties_the_merged_away_id(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    buyers = _save(runtime, workspace.id, "buyers", {"event": "Order Completed"})
    user = send(runtime, workspace.id, {"type": "identify", "userId": "u-1", "traits": {"city": "上海"}})
    device = send(runtime, workspace.id, {"type": "track", "anonymousId": "dev-1", "event": "Order Completed",
                                          "properties": {"revenue": 99}})
    _real_time(runtime, workspace.id)
    [known], [anonymous] = set(user.profile_ids.values()), set(device.profile_ids.values())
    assert _members(runtime, workspace.id, buyers) == {anonymous}
    # An identify names no order, but it merges the device's person (and their order) into u-1.
    merged = send(runtime, workspace.id, {"type": "identify", "userId": "u-1", "anonymousId": "dev-1"})
    assert merged.merges == 1 and set(merged.profile_ids.values()) == {known}, "premise: the older profile survives"
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, buyers) == {known}, "the survivor entered, the merged-away id left"


def test_tags_set_by_the_brand_move_people_in_real_time(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    vip = _save(runtime, workspace.id, "vip", {"tag": "VIP", "op": "has"})
    result = send(runtime, workspace.id, {"type": "identify", "userId": "u-2", "traits": {"city": "北京"}})
    _real_time(runtime, workspace.id)
    [person] = set(result.profile_ids.values())
    with write(runtime.engine) as conn:
        tag = tag_store.create_tag(conn, workspace.id, "VIP", group=None, kind=TagGroupKind.BUSINESS,
                                   description=None, at=NOW)
        tag_profiles(conn, workspace.id, tag, profile_ids=[person], source="manual", actor="test")
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, vip) == {person}


def test_an_unrelated_event_leaves_the_passing_of_time_to_the_refresh(runtime: Runtime, workspace) -> None:
    """Real time re-evaluates what an event can change; a trait date sliding out of a window is no event."""
    clock.freeze(NOW)
    recent = _save(runtime, workspace.id, "signed up this month",
                   {"trait": "signup_date", "op": "within_last", "value": "30d"})
    signup = (NOW - timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%S")
    result = send(runtime, workspace.id, {"type": "identify", "userId": "u-3", "traits": {"signup_date": signup}})
    [person] = set(result.profile_ids.values())
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, recent) == {person}
    clock.advance(timedelta(days=2))
    send(runtime, workspace.id, {"type": "track", "userId": "u-3", "event": "Product Viewed"})
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, recent) == {person}, "a product view says nothing about traits"
    send(runtime, workspace.id, {"type": "identify", "userId": "u-3", "traits": {"city": "杭州"}})
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, recent) == set(), "an identify may change traits: evaluated again"


def test_a_chain_of_merges_split_over_two_passes_still_empties_every_merged_away_id(
        runtime: Runtime, workspace) -> None:
    """A into B by one entry, B into C by the next, the worker reading one entry per pass: the first
    entry already belongs to C and names no merge into C; the second finds C a survivor, and every
    id ever merged into C is emptied then."""
    clock.freeze(NOW)
    buyers = _save(runtime, workspace.id, "buyers", {"event": "Order Completed"})
    [c] = send(runtime, workspace.id, {"type": "identify", "userId": "u-c"}).profile_ids.values()
    [b] = send(runtime, workspace.id, {"type": "identify", "anonymousId": "d-b",
                                       "traits": {"email": "b@shop.cn"}}).profile_ids.values()
    [a] = send(runtime, workspace.id, {"type": "track", "anonymousId": "d-a", "event": "Order Completed",
                                       "properties": {"revenue": 99}}).profile_ids.values()
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, buyers) == {a}
    first = send(runtime, workspace.id, {"type": "identify", "anonymousId": "d-a", "traits": {"email": "b@shop.cn"}})
    second = send(runtime, workspace.id, {"type": "identify", "userId": "u-c", "anonymousId": "d-b"})
    assert (first.merges, second.merges) == (1, 1) and set(second.profile_ids.values()) == {c}, "premise: A→B→C"
    for _ in range(2):
        with write(runtime.engine) as conn:
            realtime.process_new_events(conn, workspace.id, clock.now(), "Asia/Shanghai", limit=1)
    _real_time(runtime, workspace.id)
    assert _members(runtime, workspace.id, buyers) == {c}
