"""The ingest pipeline against the real database: dedupe, resolution, merges, rollups, traits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, identities, identity_conflicts, profile_event_counts, profile_merges, profiles
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import IngestResult, ingest
from siyu.ingest.spec import parse_message
from siyu.profiles.store import load_states
from siyu.runtime import Runtime

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


def send(rt: Runtime, workspace_id: int, *raw: dict[str, Any]) -> IngestResult:
    messages = [parse_message(m, received_at=clock.now()) for m in raw]
    with write(rt.engine) as conn:
        return ingest(conn, workspace_id, messages, rules=DEFAULT_RULES)


def owner(rt: Runtime, workspace_id: int, type_: str, value: str) -> int | None:
    with read(rt.engine) as conn:
        return conn.execute(select(identities.c.profile_id).where(
            identities.c.workspace_id == workspace_id, identities.c.type == type_,
            identities.c.value == value)).scalar_one_or_none()


def test_a_repeated_message_id_is_stored_once(runtime: Runtime, workspace) -> None:
    message = {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "m-1"}
    first = send(runtime, workspace.id, message, message)
    second = send(runtime, workspace.id, message)
    assert (first.accepted, first.duplicates, second.accepted, second.duplicates) == (1, 1, 0, 1)
    with read(runtime.engine) as conn:
        count = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id, events.c.message_id == "m-1")).scalar_one()
    assert count == 1


def test_message_ids_are_deduplicated_per_workspace(runtime: Runtime, workspace, other_workspace) -> None:
    message = {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "shared-id"}
    assert send(runtime, workspace.id, message).accepted == 1
    assert send(runtime, other_workspace.id, message).accepted == 1


def test_dedupe_keys_expire_after_the_window(runtime: Runtime, workspace) -> None:
    clock.freeze(NOW)
    message = {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "late-retry"}
    send(runtime, workspace.id, message)
    clock.advance(timedelta(days=8))
    from siyu.ingest.store import prune_dedupe_keys

    with write(runtime.engine) as conn:
        assert prune_dedupe_keys(conn, workspace.id, clock.now()) == 1
    assert send(runtime, workspace.id, message).accepted == 1


def test_anonymous_browsing_then_a_form_with_a_phone_is_one_person(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id,
         {"type": "page", "anonymousId": "anon-1", "name": "Lipstick", "context": {"campaign": {"source": "xhs"}}})
    send(runtime, workspace.id, {"type": "identify", "userId": "member-9", "traits": {"phone": "13800138001"}})
    send(runtime, workspace.id, {"type": "identify", "anonymousId": "anon-1", "traits": {"phone": "+86 138 0013 8001"}})
    person = owner(runtime, workspace.id, "user_id", "member-9")
    assert person is not None
    assert owner(runtime, workspace.id, "anonymous_id", "anon-1") == person
    assert owner(runtime, workspace.id, "phone", "+8613800138001") == person


def test_a_merge_repoints_events_and_keeps_an_audit_trail(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {"type": "track", "anonymousId": "web", "event": "Product Viewed"})
    send(runtime, workspace.id, {"type": "track", "userId": "shop-7", "event": "Order Completed",
                                 "properties": {"total": 199}})
    result = send(runtime, workspace.id, {"type": "identify", "userId": "shop-7", "anonymousId": "web",
                                          "messageId": "the-merge"})
    assert result.merges == 1
    person = owner(runtime, workspace.id, "user_id", "shop-7")
    with read(runtime.engine) as conn:
        event_owners = set(conn.execute(select(events.c.profile_id).where(events.c.workspace_id == workspace.id))
                           .scalars())
        merge = conn.execute(select(profile_merges).where(profile_merges.c.workspace_id == workspace.id)).one()
        merged_away = conn.execute(select(profiles.c.merged_into).where(
            profiles.c.workspace_id == workspace.id, profiles.c.id == merge.from_profile_id)).scalar_one()
        state = load_states(conn, workspace.id, [person])[person]
    assert event_owners == {person}
    assert merge.into_profile_id == person and merge.message_id == "the-merge"
    assert merge.identities == [{"type": "user_id", "value": "shop-7"}]  # the newer profile folds into the older
    assert merged_away == person
    assert (state.rollup.event_count, state.rollup.order_count, state.rollup.total_spend) == (3, 1, 199.0)


def test_a_shared_device_is_recorded_as_a_conflict_not_a_merge(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {"type": "identify", "userId": "alice", "anonymousId": "store-ipad"})
    send(runtime, workspace.id, {"type": "identify", "userId": "bob", "anonymousId": "store-ipad",
                                 "messageId": "bob-login"})
    alice = owner(runtime, workspace.id, "user_id", "alice")
    bob = owner(runtime, workspace.id, "user_id", "bob")
    assert alice != bob
    with read(runtime.engine) as conn:
        conflict = conn.execute(select(identity_conflicts).where(
            identity_conflicts.c.workspace_id == workspace.id)).one()
    assert (conflict.message_id, conflict.identifier_value, conflict.rule) == ("bob-login", "store-ipad",
                                                                               "limit:user_id=1")


def test_rollups_track_orders_spend_channels_and_counts(runtime: Runtime, workspace) -> None:
    t0 = NOW - timedelta(days=30)
    send(runtime, workspace.id,
         {"type": "track", "userId": "u", "event": "Followed", "timestamp": t0.isoformat(),
          "context": {"campaign": {"source": "tmall_card"}}},
         {"type": "track", "userId": "u", "event": "Order Completed", "properties": {"total": "88.5"},
          "timestamp": (t0 + timedelta(days=3)).isoformat(), "context": {"campaign": {"source": "wecom_staff"}}},
         {"type": "track", "userId": "u", "event": "Order Completed", "properties": {"revenue": 11.5},
          "timestamp": (t0 + timedelta(days=1)).isoformat()})
    person = owner(runtime, workspace.id, "user_id", "u")
    with read(runtime.engine) as conn:
        rollup = load_states(conn, workspace.id, [person])[person].rollup
        counts = dict(conn.execute(select(profile_event_counts.c.name, profile_event_counts.c.count).where(
            profile_event_counts.c.workspace_id == workspace.id)).all())
    assert (rollup.order_count, rollup.total_spend) == (2, 100.0)
    assert (rollup.first_channel, rollup.last_channel) == ("tmall_card", "wecom_staff")
    assert rollup.first_seen_at == t0 and rollup.last_order_at == t0 + timedelta(days=3)
    assert rollup.first_order_at == t0 + timedelta(days=1)
    assert counts == {"Followed": 1, "Order Completed": 2}


def test_a_late_event_does_not_overwrite_a_newer_trait(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {"type": "identify", "userId": "u", "traits": {"city": "上海"},
                                 "timestamp": NOW.isoformat()})
    send(runtime, workspace.id, {"type": "identify", "userId": "u", "traits": {"city": "杭州", "age": 28},
                                 "timestamp": (NOW - timedelta(days=1)).isoformat()})
    person = owner(runtime, workspace.id, "user_id", "u")
    with read(runtime.engine) as conn:
        state = load_states(conn, workspace.id, [person])[person]
    assert state.traits["city"] == "上海"
    assert state.traits["age"] == 28
    assert state.trait_meta["age"]["type"] == "number"


def test_clock_skew_is_corrected_from_sent_at(runtime: Runtime, workspace) -> None:
    """A phone whose clock runs 2 hours fast: Segment's rule receivedAt - (sentAt - timestamp)."""
    clock.freeze(NOW)
    fast = NOW + timedelta(hours=2)
    send(runtime, workspace.id, {"type": "track", "userId": "u", "event": "Product Viewed", "messageId": "skew",
                                 "timestamp": (fast - timedelta(minutes=5)).isoformat(), "sentAt": fast.isoformat()})
    with read(runtime.engine) as conn:
        stored = conn.execute(select(events.c.timestamp, events.c.received_at).where(
            events.c.workspace_id == workspace.id, events.c.message_id == "skew")).one()
    assert stored.received_at == NOW
    assert stored.timestamp == NOW - timedelta(minutes=5)


def test_alias_links_the_previous_anonymous_id(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {"type": "track", "anonymousId": "device-1", "event": "Product Viewed"})
    send(runtime, workspace.id, {"type": "identify", "userId": "new-user"})
    send(runtime, workspace.id, {"type": "alias", "userId": "new-user", "previousId": "device-1"})
    assert owner(runtime, workspace.id, "anonymous_id", "device-1") == owner(runtime, workspace.id, "user_id",
                                                                                "new-user")


def test_scoped_external_ids_and_placeholder_values(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {
        "type": "identify", "userId": "u", "traits": {"email": "null", "phone": "13800138000"},
        "context": {"externalIds": [{"type": "wechat_openid:wx123", "id": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}]}})
    person = owner(runtime, workspace.id, "user_id", "u")
    assert owner(runtime, workspace.id, "wechat_openid:wx123", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M") == person
    with read(runtime.engine) as conn:
        types = set(conn.execute(select(identities.c.type).where(identities.c.workspace_id == workspace.id)).scalars())
    assert types == {"user_id", "wechat_openid:wx123"}


def test_merges_within_one_batch_are_audited_with_real_profile_ids(runtime: Runtime, workspace) -> None:
    result = send(runtime, workspace.id,
                  {"type": "track", "anonymousId": "tab", "event": "Product Viewed", "messageId": "x1"},
                  {"type": "identify", "userId": "m-1", "messageId": "x2"},
                  {"type": "identify", "userId": "m-1", "anonymousId": "tab", "messageId": "x3"})
    assert result.merges == 1
    person = owner(runtime, workspace.id, "user_id", "m-1")
    with read(runtime.engine) as conn:
        merge = conn.execute(select(profile_merges).where(profile_merges.c.workspace_id == workspace.id)).one()
        tombstone = conn.execute(select(profiles.c.merged_into).where(
            profiles.c.workspace_id == workspace.id, profiles.c.id == merge.from_profile_id)).scalar_one()
        owners = set(conn.execute(select(events.c.profile_id).where(events.c.workspace_id == workspace.id)).scalars())
    assert (merge.into_profile_id, merge.message_id, tombstone) == (person, "x3", person)
    assert owners == {person}
