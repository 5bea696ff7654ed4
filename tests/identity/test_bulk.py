"""The set-based path (:mod:`siyu.identity.bulk`) leaves the database exactly as the pipeline does.

Generated chunks — people sharing phones, unionids and openids, conflicting identifiers, blocked
placeholder values, repeated message ids, trait changes, aliases, orders, people stored before the
chunk — go through :func:`siyu.ingest.pipeline.ingest` in one workspace and through
:func:`siyu.identity.bulk.apply_events` in another, with the same chunk boundaries; the two
databases are then compared row by row, profile ids replaced by their rank in the workspace (both
paths create profiles in the same order).
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import (
    event_dedupe,
    events,
    identities,
    identity_conflicts,
    identity_versions,
    profile_event_counts,
    profile_merges,
    profiles,
)
from siyu.identity.bulk import alias_identifiers, apply_events, first_occurrences, resolve_in_order
from siyu.identity.graph import BatchGraph
from siyu.identity.models import Identifier
from siyu.identity.resolve import resolve
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.pipeline import IngestResult, ingest
from siyu.ingest.spec import Message, parse_message
from siyu.runtime import Runtime
from tests.conftest import make_workspace

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BLOCKED_PHONE = "13800138000"  # China Mobile's service line, a blocked placeholder


# --- generated input --------------------------------------------------------------------------

def _person(n: int) -> dict[str, str]:
    return {"user_id": f"member-{n}", "phone": f"139{n:08d}", "unionid": f"union-{n}", "openid": f"open-{n}",
            "email": f"p{n}@shop.cn", "anonymous": f"anon-{n}", "name": f"顾客{n}"}


def generated_messages(seed: int, count: int, people: int, prefix: str) -> list[dict[str, Any]]:
    """Segment messages about ``people`` people, with the awkward cases mixed in."""
    rnd = random.Random(seed)
    crowd = [_person(n) for n in range(people)]
    sent: list[dict[str, Any]] = []
    for n in range(count):
        who = rnd.choice(crowd)
        other = rnd.choice(crowd)
        roll = rnd.random()
        minute = rnd.randrange(0, 600, 7)  # coarse: several events share a timestamp
        raw: dict[str, Any] = {"messageId": f"{prefix}-{n}",
                               "timestamp": (NOW - timedelta(days=3) + timedelta(minutes=minute)).isoformat()}
        if rnd.random() < 0.5:
            raw["anonymousId"] = who["anonymous"]
        if rnd.random() < 0.5 or "anonymousId" not in raw:
            raw["userId"] = who["user_id"] if rnd.random() > 0.05 else "null"  # "null": blocked, never links
        traits: dict[str, Any] = {}
        if rnd.random() < 0.6:
            traits["phone"] = (other if rnd.random() < 0.15 else who)["phone"]  # shared family phones
        if rnd.random() < 0.05:
            traits["phone"] = BLOCKED_PHONE
        if rnd.random() < 0.4:
            traits["wechat_unionid"] = (other if rnd.random() < 0.1 else who)["unionid"]  # conflicts
        if rnd.random() < 0.2:
            traits["email"] = who["email"] if rnd.random() > 0.2 else "test@test.com"
        if rnd.random() < 0.5:
            traits["name"] = who["name"] + rnd.choice(["", "·新", "·旧"])  # a trait that changes
            traits["city"] = rnd.choice(["上海", "杭州", "成都"])
        context: dict[str, Any] = {}
        if rnd.random() < 0.3:
            context["externalIds"] = [{"type": "wechat_openid:wxA", "id": (other if rnd.random() < 0.1 else who)[
                "openid"]}]
        if rnd.random() < 0.2:
            context["campaign"] = {"source": rnd.choice(["xhs", "douyin", "wecom"])}
        if roll < 0.35:
            raw.update(type="identify", traits=traits)
        elif roll < 0.7:
            raw.update(type="track", event=rnd.choice(["Order Completed", "Order Completed", "Product Viewed"]),
                       properties={"total": rnd.choice([69.9, 89.9, 129.0, 0.1, 0.2]), "order_id": f"o{n}"})
            context["traits"] = traits
        elif roll < 0.9:
            raw.update(type="page", name="Lipstick", properties={"channel": rnd.choice(["tmall", "mini"])})
            context["traits"] = traits
        else:
            raw.update(type="alias", userId=who["user_id"], previousId=rnd.choice([who["anonymous"], other["user_id"]]))
        if context:
            raw["context"] = context
        if sent and rnd.random() < 0.08:
            raw["messageId"] = rnd.choice(sent)["messageId"]  # a retried message: stored once
        sent.append(raw)
    return sent


def parsed(raw: list[dict[str, Any]]) -> tuple[list[Message], list[list[Identifier]]]:
    messages = [parse_message(m, received_at=clock.now(), source="test") for m in raw]
    return messages, [identifiers_of(m, DEFAULT_RULES) for m in messages]


# --- the comparison ---------------------------------------------------------------------------

def snapshot(runtime: Runtime, workspace_id: int) -> dict[str, Any]:
    """Everything ingest writes, with profile ids replaced by their rank in the workspace."""
    with read(runtime.engine) as conn:
        def rows(table: Any, *order: Any) -> list[Any]:
            return conn.execute(select(table).where(table.c.workspace_id == workspace_id).order_by(*order)).all()

        stored_profiles = rows(profiles, profiles.c.id)
        rank = {row.id: index for index, row in enumerate(stored_profiles)}

        def label(profile_id: int | None) -> int | None:
            return None if profile_id is None else rank[profile_id]

        return {
            "profiles": [(label(r.id), label(r.merged_into), r.created_at, r.updated_at, r.traits, r.trait_meta,
                          r.first_seen_at, r.last_seen_at, r.event_count, r.order_count, round(r.total_spend, 2),
                          r.first_order_at, r.last_order_at, r.first_channel, r.last_channel)
                         for r in stored_profiles],
            "identities": sorted((r.type, r.value, label(r.profile_id), r.first_seen_at, r.last_seen_at, r.source)
                                 for r in rows(identities, identities.c.type, identities.c.value)),
            "events": [(label(r.profile_id), r.message_id, r.type, r.name, r.anonymous_id, r.user_id, r.timestamp,
                        r.received_at, r.source, r.properties, r.traits, r.context)
                       for r in rows(events, events.c.id)],
            "merges": [(label(r.from_profile_id), label(r.into_profile_id), r.identities, r.message_id, r.reason)
                       for r in rows(profile_merges, profile_merges.c.id)],
            "conflicts": [(r.message_id, r.identifier_type, r.identifier_value, [label(p) for p in r.profile_ids],
                           r.rule, r.detail) for r in rows(identity_conflicts, identity_conflicts.c.id)],
            "counts": sorted((label(r.profile_id), r.name, r.count, r.first_at, r.last_at)
                             for r in rows(profile_event_counts, profile_event_counts.c.name)),
            "dedupe": sorted((r.message_id, r.expires_at) for r in rows(event_dedupe, event_dedupe.c.message_id)),
        }


def _labelled(result: IngestResult, snap_ids: dict[int, int]) -> tuple[Any, ...]:
    return (result.accepted, result.duplicates, result.merges, result.conflicts,
            {m: None if p is None else snap_ids[p] for m, p in result.profile_ids.items()})


def _ranks(runtime: Runtime, workspace_id: int) -> dict[int, int]:
    with read(runtime.engine) as conn:
        ids = conn.execute(select(profiles.c.id).where(profiles.c.workspace_id == workspace_id)
                           .order_by(profiles.c.id)).scalars().all()
    return {profile_id: index for index, profile_id in enumerate(ids)}


def _token(runtime: Runtime, workspace_id: int) -> int | None:
    with read(runtime.engine) as conn:
        return conn.execute(select(identity_versions.c.token).where(
            identity_versions.c.workspace_id == workspace_id)).scalar_one_or_none()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_bulk_path_stores_what_the_pipeline_stores(runtime: Runtime, seed: int) -> None:
    clock.freeze(NOW)
    by_pipeline, by_bulk = make_workspace(runtime, "pipeline"), make_workspace(runtime, "bulk")
    before = generated_messages(seed + 100, 60, 25, "seed")  # people stored before the chunks
    chunks = [generated_messages(seed * 10 + n, 150, 30, f"c{n}") for n in range(3)]
    chunks.append(chunks[0][:20])  # a chunk that was already stored: all duplicates
    with write(runtime.engine) as conn:
        for workspace in (by_pipeline, by_bulk):
            messages, found = parsed(before)
            ingest(conn, workspace.id, messages, rules=DEFAULT_RULES, identifiers=found)
    for raw in chunks:
        clock.advance(timedelta(minutes=1))
        tokens = _token(runtime, by_pipeline.id), _token(runtime, by_bulk.id)
        messages, found = parsed(raw)
        with write(runtime.engine) as conn:
            expected = ingest(conn, by_pipeline.id, messages, rules=DEFAULT_RULES, identifiers=found)
        messages, found = parsed(raw)
        with write(runtime.engine) as conn:
            got = apply_events(conn, by_bulk.id, messages, rules=DEFAULT_RULES, identifiers=found)
        assert _labelled(got, _ranks(runtime, by_bulk.id)) == _labelled(expected, _ranks(runtime, by_pipeline.id))
        # the identity version token is replaced exactly when the pipeline replaces it
        assert (_token(runtime, by_bulk.id) != tokens[1]) == (_token(runtime, by_pipeline.id) != tokens[0])
    pipeline, bulk = snapshot(runtime, by_pipeline.id), snapshot(runtime, by_bulk.id)
    for key in pipeline:
        assert bulk[key] == pipeline[key], key
    assert pipeline["merges"] and pipeline["conflicts"], "the generator should exercise merges and conflicts"


def test_a_chunk_that_links_new_identifiers_replaces_the_version_token(runtime: Runtime, workspace) -> None:
    """Owner caches in other processes must drop what they knew (siyu.identity.owner_cache)."""
    before = _token(runtime, workspace.id)
    messages, found = parsed([{"type": "identify", "userId": "u-new", "traits": {"phone": "13900000001"}}])
    with write(runtime.engine) as conn:
        apply_events(conn, workspace.id, messages, rules=DEFAULT_RULES, identifiers=found)
    assert _token(runtime, workspace.id) not in (None, before)


def test_the_pipeline_sees_a_merge_made_by_a_bulk_chunk(runtime: Runtime, workspace) -> None:
    """The pipeline's owner cache in this very process (filled by the first two batches) must not
    keep pointing visitor q at the profile a bulk chunk merged away."""
    def pipeline(*raw: dict[str, Any]) -> IngestResult:
        messages, found = parsed(list(raw))
        with write(runtime.engine) as conn:
            return ingest(conn, workspace.id, messages, rules=DEFAULT_RULES, identifiers=found)

    first = pipeline({"type": "identify", "anonymousId": "p", "traits": {"phone": "13900000011"}, "messageId": "1"})
    second = pipeline({"type": "identify", "anonymousId": "q", "traits": {"phone": "13900000022"}, "messageId": "2"})
    assert first.profile_ids["1"] != second.profile_ids["2"]
    messages, found = parsed([{"type": "identify", "anonymousId": "x", "messageId": "3",
                               "traits": {"phone": "13900000011"}},
                              {"type": "identify", "anonymousId": "x", "messageId": "4",
                               "traits": {"phone": "13900000022"}}])
    with write(runtime.engine) as conn:
        merged = apply_events(conn, workspace.id, messages, rules=DEFAULT_RULES, identifiers=found)
    assert merged.merges == 1
    later = pipeline({"type": "track", "anonymousId": "q", "event": "Product Viewed", "messageId": "5"})
    assert later.profile_ids["5"] == first.profile_ids["1"]


# --- pure parts, no database --------------------------------------------------------------------

def test_first_occurrence_of_a_message_id_wins() -> None:
    assert first_occurrences(["a", "b", "a", "c", "b"]) == {"a": 0, "b": 1, "c": 3}


@pytest.mark.parametrize("seed", range(20))
def test_ordered_resolution_decides_as_resolve_does_event_by_event(seed: int) -> None:
    """The known-person shortcut in resolve_in_order changes nothing: the same graph results."""
    raw = generated_messages(seed, 200, 20, "m")
    messages, found = parsed(raw)
    events = list(zip(messages, found, strict=True))
    fast, slow = BatchGraph(), BatchGraph()
    assigned = resolve_in_order(events, fast, DEFAULT_RULES)
    expected = []
    for message, identifiers in events:
        if message.type == "alias" and message.previous_id is not None:
            identifiers = alias_identifiers(message, identifiers, slow)
        expected.append(slow.apply(resolve(identifiers, slow, DEFAULT_RULES), message.message_id))
    assert assigned == expected
    assert (fast.owners, fast.new_links, fast.merged_into, fast.new_profiles) == (
        slow.owners, slow.new_links, slow.merged_into, slow.new_profiles)
    assert [c for c, _ in fast.conflicts] == [c for c, _ in slow.conflicts]


# --- concurrency --------------------------------------------------------------------------------

def test_api_ingest_during_an_import_keeps_one_profile_per_person(runtime: Runtime, workspace) -> None:
    """An import (bulk chunks) and API batches (the pipeline) for the same new people at once: each
    holds the workspace's graph lock for its whole transaction, so neither splits a person in two,
    and every event is counted once on the profile that owns it."""
    people = 40
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def importer() -> None:
        try:
            barrier.wait(timeout=30)
            for chunk in range(4):
                messages, found = parsed([
                    {"type": "track", "event": "Order Completed", "messageId": f"imp-{chunk}-{p}",
                     "anonymousId": f"import-tmall-buyer{p}", "properties": {"total": 10},
                     "context": {"traits": {"phone": f"1370000{p:04d}"}}} for p in range(people)])
                with write(runtime.engine) as conn:
                    apply_events(conn, workspace.id, messages, rules=DEFAULT_RULES, identifiers=found)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    def api() -> None:
        try:
            barrier.wait(timeout=30)
            for batch in range(8):
                messages, found = parsed([
                    {"type": "identify", "messageId": f"api-{batch}-{p}", "userId": f"member-{p}",
                     "traits": {"phone": f"+86 137 0000 {p:04d}"}} for p in range(batch % 2, people, 2)])
                with write(runtime.engine) as conn:
                    ingest(conn, workspace.id, messages, rules=DEFAULT_RULES, identifiers=found)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=importer), threading.Thread(target=api)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with read(runtime.engine) as conn:
        owners = dict(conn.execute(select(identities.c.value, identities.c.profile_id).where(
            identities.c.workspace_id == workspace.id, identities.c.type == "phone")).all())
        everyone = {(r.type, r.value): r.profile_id for r in conn.execute(select(identities).where(
            identities.c.workspace_id == workspace.id))}
        live = conn.execute(select(profiles).where(profiles.c.workspace_id == workspace.id,
                                                   profiles.c.merged_into.is_(None))).all()
        stored = conn.execute(select(events.c.profile_id, events.c.message_id).where(
            events.c.workspace_id == workspace.id)).all()
    assert len(owners) == people and len(live) == people  # one profile per phone, whatever the interleaving
    for p in range(people):
        person = owners[f"+861370000{p:04d}"]
        assert everyone[("anonymous_id", f"import-tmall-buyer{p}")] == person
        assert everyone[("user_id", f"member-{p}")] == person
    assert len(stored) == 4 * people + 4 * people
    per_profile: dict[int, int] = {}
    for profile_id, _ in stored:
        per_profile[profile_id] = per_profile.get(profile_id, 0) + 1
    assert {r.id: r.event_count for r in live} == per_profile
    assert {r.id: r.order_count for r in live} == {p: 4 for p in per_profile}
