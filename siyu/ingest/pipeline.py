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

from sqlalchemy import Connection

from siyu import clock
from siyu.identity import store as identity_store
from siyu.identity.graph import BatchGraph
from siyu.identity.models import Identifier, IdentifierKind
from siyu.identity.resolve import resolve
from siyu.identity.rules import IdentityRules
from siyu.ingest import store as ingest_store
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.spec import Message
from siyu.profiles import store as profile_store
from siyu.profiles.rollups import add_event, channel_of
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
    result = IngestResult()
    if identifiers is None:
        identifiers = [identifiers_of(m, rules, region) for m in messages]
    unique: dict[str, int] = {}
    for index, message in enumerate(messages):
        unique.setdefault(message.message_id, index)
    result.duplicates = len(messages) - len(unique)
    ids = list(unique)
    fresh = ingest_store.claim_message_ids(conn, workspace_id, ids, now + dedupe_window,
                                           [messages[unique[m]].dedupe_forever for m in ids])
    result.duplicates += len(ids) - len(fresh)
    batch = [(messages[unique[m]], identifiers[unique[m]]) for m in ids if m in fresh]
    if not batch:
        return result

    identity_store.lock_identity_graph(conn, workspace_id)
    graph = _load_graph(conn, workspace_id, batch)
    assigned: list[int | None] = []
    for message, found in batch:
        if message.type == "alias" and message.previous_id is not None:
            found = _alias_identifiers(message, found, graph)
        assigned.append(graph.apply(resolve(found, graph, rules), message.message_id))

    real = _allocate(conn, graph)
    _write_graph(conn, workspace_id, graph, real, now, batch[0][0].source)
    canonical = [real.get(graph.canonical(p), graph.canonical(p)) if p is not None else None for p in assigned]

    rows = [_event_row(workspace_id, m, p) for (m, _), p in zip(batch, canonical, strict=True)]
    ingest_store.append_events(conn, rows)
    _fold_into_profiles(conn, workspace_id, batch, canonical, real, now)
    result.accepted = len(batch)
    result.merges = len([m for m in graph.merges if m.from_profile_id > 0])
    result.conflicts = len(graph.conflicts)
    result.profile_ids = {m.message_id: p for (m, _), p in zip(batch, canonical, strict=True)}
    return result


def _load_graph(conn: Connection, workspace_id: int, batch: list[tuple[Message, list[Identifier]]]) -> BatchGraph:
    wanted = {i for _, found in batch for i in found}
    for message, _ in batch:
        if message.type == "alias" and message.previous_id is not None:
            wanted.add(Identifier(IdentifierKind.USER_ID, message.previous_id))
            wanted.add(Identifier(IdentifierKind.ANONYMOUS_ID, message.previous_id))
    owners = identity_store.load_owners(conn, workspace_id, wanted)
    members = identity_store.load_identities_of(conn, workspace_id, set(owners.values()))
    return BatchGraph.load(owners, members)


def _alias_identifiers(message: Message, found: list[Identifier], graph: BatchGraph) -> list[Identifier]:
    """``alias(previousId → userId)``: previousId is the id the person had before (Segment spec),
    a user id if one is known by it, else an anonymous id."""
    previous_user = Identifier(IdentifierKind.USER_ID, message.previous_id or "")
    previous = previous_user if graph.owner(previous_user) is not None else Identifier(
        IdentifierKind.ANONYMOUS_ID, message.previous_id or "")
    return [*found, previous]


def _allocate(conn: Connection, graph: BatchGraph) -> dict[int, int]:
    """Real ids for the batch's new profiles that survived (some were merged within the batch)."""
    surviving = [p for p in graph.new_profiles if p not in graph.merged_into]
    return dict(zip(surviving, identity_store.allocate_profile_ids(conn, len(surviving)), strict=True))


def _write_graph(conn: Connection, workspace_id: int, graph: BatchGraph, real: dict[int, int], now: datetime,
                 source: str) -> None:
    def final(profile_id: int) -> int:
        profile_id = graph.canonical(profile_id)
        return real.get(profile_id, profile_id)

    new_states = {pid: ProfileState(id=pid, created_at=now, is_new=True) for pid in real.values()}
    if new_states:
        profile_store.save_states(conn, workspace_id, new_states.values(), now)
    links = {identifier: final(pid) for identifier, pid in graph.new_links.items()}
    identity_store.insert_links(conn, workspace_id, links, now, source)
    stored_merges = [m for m in graph.merges if m.from_profile_id > 0]
    for merge in stored_merges:
        into = final(merge.into_profile_id)
        merge.into_profile_id = into
        identity_store.repoint_identities(conn, workspace_id, merge.from_profile_id, into)
        profile_store.fold_profile(conn, workspace_id, merge.from_profile_id, into, now)
    identity_store.record_merges(conn, workspace_id, stored_merges, now, reason="event")
    identity_store.record_conflicts(conn, workspace_id, [
        (replace(conflict, profile_ids=tuple(final(p) for p in conflict.profile_ids)), message_id)
        for conflict, message_id in graph.conflicts
    ], now)


def _event_row(workspace_id: int, message: Message, profile_id: int | None) -> dict[str, Any]:
    properties = message.properties
    if message.type == "alias":
        properties = {**properties, "previousId": message.previous_id}
    elif message.type == "group":
        properties = {**properties, "groupId": message.group_id}
    return {
        "workspace_id": workspace_id, "profile_id": profile_id, "message_id": message.message_id,
        "type": message.type, "name": message.name, "anonymous_id": message.anonymous_id,
        "user_id": message.user_id, "timestamp": message.timestamp, "sent_at": message.sent_at,
        "received_at": message.received_at, "source": message.source, "properties": properties or None,
        "traits": message.traits or None, "context": message.context or None,
    }


def _fold_into_profiles(conn: Connection, workspace_id: int, batch: list[tuple[Message, list[Identifier]]],
                        profile_ids: list[int | None], real: dict[int, int], now: datetime) -> None:
    touched = {p for p in profile_ids if p is not None}
    states = profile_store.load_states(conn, workspace_id, touched)
    counts: dict[tuple[int, str], list[Any]] = defaultdict(lambda: [0, None, None])
    for (message, found), profile_id in zip(batch, profile_ids, strict=True):
        if profile_id is None or profile_id not in states:
            continue
        state = states[profile_id]
        traits = message.profile_traits()
        normalised = {i.kind.value: i.value for i in found if i.kind.value in traits}
        if traits:
            apply_traits(state.traits, state.trait_meta, {**traits, **normalised}, message.timestamp, message.source)
        add_event(state.rollup, name=message.name, at=message.timestamp, properties=message.properties,
                  channel=channel_of(message.properties, message.context, traits))
        entry = counts[(profile_id, message.name)]
        entry[0] += 1
        entry[1] = message.timestamp if entry[1] is None else min(entry[1], message.timestamp)
        entry[2] = message.timestamp if entry[2] is None else max(entry[2], message.timestamp)
    profile_store.save_states(conn, workspace_id, states.values(), now)
    profile_store.add_event_counts(conn, workspace_id, dict(counts))
