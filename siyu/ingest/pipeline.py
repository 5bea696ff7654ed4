"""The ingest pipeline: every event, whatever door it came in by, goes through :func:`ingest`.

One call handles a batch inside the caller's write transaction, so the batch is atomic: the
dedupe keys, the events, the identity links and merges, and the profile rollups commit together
or not at all. A client that got a 2xx therefore finds its events stored exactly once, and a
client whose request died before the commit can retry safely (its messageIds are still free).

Steps: drop duplicates (within the batch, then against the dedupe window); lock the workspace's
identity graph; load the owners of every identifier in the batch; resolve each event in order;
write links, merges and conflicts; append the events with their profile; fold traits, rollups
and per-event counts into the touched profiles.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from siyu import clock
from siyu.db.types import to_millis
from siyu.identity import owner_cache
from siyu.identity import store as identity_store
from siyu.identity.graph import BatchGraph
from siyu.identity.models import Identifier, IdentifierKind
from siyu.identity.resolve import resolve
from siyu.identity.rules import IdentityRules
from siyu.ingest import store as ingest_store
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.spec import Message
from siyu.profiles import store as profile_store
from siyu.profiles.rollups import Rollup, add_event, channel_of
from siyu.profiles.store import ProfileState
from siyu.profiles.traits import apply_traits


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    profile_ids: dict[str, int | None] = field(default_factory=dict)  # message_id -> profile
    merges: int = 0
    conflicts: int = 0


def ingest(conn: Connection, workspace_id: int, messages: list[Message], *, rules: IdentityRules,
           region: str = "CN", dedupe_window: timedelta = timedelta(days=7),
           identifiers: list[list[Identifier]] | None = None) -> IngestResult:
    """Store a batch of parsed messages. ``identifiers`` may be given when the caller extracted
    them already (the HTTP layer does, to reject invalid phones before queueing)."""
    now = clock.now()
    if identifiers is None:
        identifiers = [identifiers_of(m, rules, region) for m in messages]
    result, batch = claim(conn, workspace_id, messages, identifiers, now + dedupe_window)
    return resolve_and_store(conn, workspace_id, batch, rules=rules, now=now, result=result)


def claim(conn: Connection, workspace_id: int, messages: list[Message], identifiers: list[list[Identifier]],
          expires_at: datetime) -> tuple[IngestResult, list[tuple[Message, list[Identifier]]]]:
    """The first half of :func:`ingest`: drop duplicates (within the batch, then against the dedupe
    window) and claim the rest's messageIds. Returns the messages this transaction owns, in order.
    The deferred path (:mod:`siyu.ingest.queue`) stops here and acknowledges."""
    result = IngestResult()
    unique: dict[str, int] = {}
    for index, message in enumerate(messages):
        unique.setdefault(message.message_id, index)
    result.duplicates = len(messages) - len(unique)
    ids = list(unique)
    fresh = ingest_store.claim_message_ids(conn, workspace_id, ids, expires_at,
                                           [messages[unique[m]].dedupe_forever for m in ids])
    result.duplicates += len(ids) - len(fresh)
    return result, [(messages[unique[m]], identifiers[unique[m]]) for m in ids if m in fresh]


def resolve_and_store(conn: Connection, workspace_id: int, batch: list[tuple[Message, list[Identifier]]], *,
                      rules: IdentityRules, now: datetime, result: IngestResult | None = None) -> IngestResult:
    """The second half of :func:`ingest`: resolve claimed messages, in order, and write them with
    their profiles. The deferred resolver (:mod:`siyu.ingest.resolver`) calls it on queued batches."""
    result = result or IngestResult()
    if not batch:
        return result

    identity_store.lock_identity_graph(conn, workspace_id)
    cache = owner_cache.for_workspace(conn, workspace_id)
    graph = _load_graph(conn, workspace_id, batch, cache)
    assigned: list[int | None] = []
    settled: dict[tuple[Identifier, ...], int] = {}  # identifier sets that resolved with no change
    for message, found in batch:
        if message.type == "alias" and message.previous_id is not None:
            found = _alias_identifiers(message, found, graph)
        key = tuple(found)
        if key in settled:
            assigned.append(settled[key])
            continue
        decision = resolve(found, graph, rules)
        profile_id = graph.apply(decision, message.message_id)
        assigned.append(profile_id)
        if decision.attach or decision.merge_from or decision.conflicts or profile_id is None:
            settled.clear()  # the graph changed: earlier answers may be stale
        else:
            settled[key] = profile_id

    real = _allocate(conn, graph)
    links = write_graph(conn, workspace_id, graph, real, now, batch[0][0].source)
    cache.written(conn, workspace_id, graph, links)
    canonical = [real.get(graph.canonical(p), graph.canonical(p)) if p is not None else None for p in assigned]
    surviving = {real[p] for p in graph.new_profiles if p not in graph.merged_into}

    rows = [event_row(workspace_id, m, p) for (m, _), p in zip(batch, canonical, strict=True)]
    ingest_store.append_events(conn, workspace_id, rows)
    _fold_into_profiles(conn, workspace_id, batch, canonical, surviving, now)
    result.accepted = len(batch)
    result.merges = len(graph.merges)
    result.conflicts = len(graph.conflicts)
    result.profile_ids = {m.message_id: p for (m, _), p in zip(batch, canonical, strict=True)}
    return result


def _load_graph(conn: Connection, workspace_id: int, batch: list[tuple[Message, list[Identifier]]],
                cache: owner_cache.OwnerCache) -> BatchGraph:
    """The owners of every identifier in the batch, and the full identities of the owners that
    resolution may need to check limits for.

    An event whose identifiers all belong to one stored profile is settled without looking at that
    profile's other identities (:func:`siyu.identity.resolve.resolve`'s common case), and it stays
    settled whatever the events before it do: a merge moves all of a profile's identifiers at once.
    Only owners seen on the other events (new identifiers, several owners, an alias) can be
    attached to, merged, or limit-checked, so only their identities are loaded: in steady state,
    with known people sending events, none.
    """
    wanted: set[Identifier] = set()
    for message, found in batch:
        wanted.update(found)
        if message.type == "alias" and message.previous_id is not None:
            wanted.add(Identifier(IdentifierKind.USER_ID, message.previous_id))
            wanted.add(Identifier(IdentifierKind.ANONYMOUS_ID, message.previous_id))
    owners = cache.owners_of(conn, workspace_id, wanted)
    involved: set[int] = set()
    for message, found in batch:
        seen = {owners.get(i) for i in found}
        if message.type == "alias" or len(seen) != 1 or None in seen:
            involved.update(owners[i] for i in found if i in owners)
    if any(message.type == "alias" for message, _ in batch):
        involved.update(owners.values())
    members = identity_store.load_identities_of(conn, workspace_id, involved)
    return BatchGraph.load(owners, members)


def _alias_identifiers(message: Message, found: list[Identifier], graph: BatchGraph) -> list[Identifier]:
    """``alias(previousId → userId)``: previousId is the id the person had before (Segment spec),
    a user id if one is known by it, else an anonymous id."""
    previous_user = Identifier(IdentifierKind.USER_ID, message.previous_id or "")
    previous = previous_user if graph.owner(previous_user) is not None else Identifier(
        IdentifierKind.ANONYMOUS_ID, message.previous_id or "")
    return [*found, previous]


def _allocate(conn: Connection, graph: BatchGraph) -> dict[int, int]:
    """Real ids for every profile the batch created, including those merged within the batch:
    they are kept as tombstones so that each merge has an audit row naming real profiles."""
    ids = identity_store.allocate_profile_ids(conn, len(graph.new_profiles))
    return dict(zip(graph.new_profiles, ids, strict=True))


def write_graph(conn: Connection, workspace_id: int, graph: BatchGraph, real: dict[int, int], now: datetime,
                 source: str) -> dict[Identifier, int]:
    """Links, merges and conflicts to the database; returns the new links with their final profiles.
    Shared with the bulk path (:mod:`siyu.identity.bulk`). Links go in index order."""
    def final(profile_id: int) -> int:
        profile_id = graph.canonical(profile_id)
        return real.get(profile_id, profile_id)

    links = {identifier: final(pid) for identifier, pid in sorted(
        graph.new_links.items(), key=lambda link: (link[0].type, link[0].value))}
    identity_store.insert_links(conn, workspace_id, links, now, source)
    tombstones: list[tuple[int, int]] = []
    for merge in graph.merges:
        into = final(merge.into_profile_id)
        if merge.from_profile_id > 0:  # a stored profile: move everything it holds
            identity_store.repoint_identities(conn, workspace_id, merge.from_profile_id, into)
            profile_store.fold_profile(conn, workspace_id, merge.from_profile_id, into, now)
        else:  # created earlier in this batch: it holds nothing yet, keep it as a tombstone
            merge.from_profile_id = real[merge.from_profile_id]
            tombstones.append((merge.from_profile_id, into))
        merge.into_profile_id = into
    profile_store.insert_tombstones(conn, workspace_id, tombstones, now)
    identity_store.record_merges(conn, workspace_id, graph.merges, now, reason="event")
    identity_store.record_conflicts(conn, workspace_id, [
        (replace(conflict, profile_ids=tuple(final(p) for p in conflict.profile_ids)), message_id)
        for conflict, message_id in graph.conflicts
    ], now)
    return links


def json_text(value: dict[str, Any] | None) -> str | None:
    """A JSON column's text as the log stores it (None for an empty object)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode() if value else None


def stored_properties(message: Message) -> dict[str, Any]:
    """The properties the log stores: an alias's previousId and a group's groupId are kept there."""
    if message.type == "alias":
        return {**message.properties, "previousId": message.previous_id}
    if message.type == "group":
        return {**message.properties, "groupId": message.group_id}
    return message.properties


def event_row(workspace_id: int, message: Message, profile_id: int | None) -> tuple[Any, ...]:
    """A row in :data:`siyu.ingest.store.EVENT_COLUMNS` order."""
    prepared = message.prepared
    if prepared is not None:
        properties, traits, context = prepared.properties, prepared.traits, prepared.context
    else:
        properties = json_text(stored_properties(message))
        traits, context = json_text(message.traits), json_text(message.context)
    return (workspace_id, profile_id, message.message_id, message.type, message.name, message.anonymous_id,
            message.user_id, to_millis(message.timestamp),
            to_millis(message.sent_at) if message.sent_at else None, to_millis(message.received_at),
            message.source, properties, traits, context)


def _fold_into_profiles(conn: Connection, workspace_id: int, batch: list[tuple[Message, list[Identifier]]],
                        profile_ids: list[int | None], new_ids: set[int], now: datetime) -> None:
    """Rollups, traits and per-event counts of the batch, folded into its profiles.

    New profiles are inserted whole; stored ones get their rollup deltas added in SQL, and only
    those whose events carry traits are read (most traffic is track calls without traits).
    """
    deltas: dict[int, Rollup] = defaultdict(Rollup)
    trait_updates: dict[int, list[tuple[dict[str, Any], Message]]] = defaultdict(list)
    counts: dict[tuple[int, str], list[Any]] = defaultdict(lambda: [0, None, None])
    for (message, found), profile_id in zip(batch, profile_ids, strict=True):
        if profile_id is None:
            continue
        traits = message.profile_traits()
        if traits:
            normalised: dict[str, str] = {i.kind.value: i.value for i in found if i.kind.value in traits}
            trait_updates[profile_id].append(({**traits, **normalised}, message))
        prepared = message.prepared
        if prepared is not None:
            add_event(deltas[profile_id], name=message.name, at=message.timestamp, properties={},
                      channel=prepared.channel, amount=prepared.amount)
        else:
            add_event(deltas[profile_id], name=message.name, at=message.timestamp, properties=message.properties,
                      channel=channel_of(message.properties, message.context, traits))
        entry = counts[(profile_id, message.name)]
        entry[0] += 1
        entry[1] = message.timestamp if entry[1] is None else min(entry[1], message.timestamp)
        entry[2] = message.timestamp if entry[2] is None else max(entry[2], message.timestamp)

    stored_traits = profile_store.load_traits(conn, workspace_id, [p for p in trait_updates if p not in new_ids])
    changed: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    for profile_id, updates in trait_updates.items():
        traits, meta = stored_traits.get(profile_id, ({}, {}))
        for incoming, message in updates:
            apply_traits(traits, meta, incoming, message.timestamp, message.source)
        changed[profile_id] = (traits, meta)

    created = [ProfileState(id=p, traits=changed.get(p, ({}, {}))[0], trait_meta=changed.get(p, ({}, {}))[1],
                            rollup=deltas[p], created_at=now, is_new=True) for p in sorted(new_ids)]
    profile_store.save_states(conn, workspace_id, created, now)
    profile_store.add_rollup_deltas(conn, workspace_id, {p: d for p, d in deltas.items() if p not in new_ids}, now)
    profile_store.save_traits(conn, workspace_id, {p: t for p, t in changed.items() if p not in new_ids})
    profile_store.add_event_counts(conn, workspace_id, dict(counts))
