"""Set-based storing of a large chunk of already validated events (any message type, alias included).

Imports store their chunks through :mod:`siyu.imports.bulk`, which prepares each row in the
converter process and uses the resolution below (:func:`resolve_identifiers_in_order`); this
module's :func:`apply_events` remains the set-based path for parsed messages (batched ingest).

:func:`apply_events` takes what :func:`siyu.ingest.pipeline.ingest` takes (parsed messages and their
identifiers) and leaves the database exactly as that function leaves it for the same list of events
(``tests/identity/test_bulk.py`` compares the two on generated chunks, on SQLite and PostgreSQL):
the same profiles, links, merges, conflicts, traits and trait metadata, rollups, per-event counts,
event rows in the same order, the same dedupe keys, and the identity version token replaced so that
every process's owner cache drops what it knew. It differs in how it gets there, for chunks of tens
of thousands of events: one claim of all message ids; one lookup of the owners of all identifiers;
identities loaded only for the profiles a decision can change; every new link, profile, event and
count written with one ``executemany`` each, in index order; and each stored profile written once
(traits, trait metadata and rollup deltas in one statement) instead of once per kind of change.

Why resolution is ordered and not a plain union-find over the chunk's identifiers: the identity
rules make the outcome depend on order. A phone that arrives first with unionid ``U1`` and then
with ``U2`` joins the first person and is refused for the second (one unionid per profile; the
lower-priority phone is demoted); the connected component of the two events would glue the two
people together. So the chunk is resolved event by event, in input order, with
:func:`siyu.identity.resolve.resolve` (the pipeline's own decision) against one in-memory graph,
and everything around it is set-based. A known person (all identifiers owned by one profile, the
common case of a re-import or a returning buyer) is settled with a dictionary lookup per identifier.

Concurrency: the same as the pipeline's. The caller's write transaction holds the workspace's
graph lock (:func:`siyu.identity.store.lock_identity_graph`) from before the owners are read until
the commit, so an API ingest of the same workspace waits for the chunk (and vice versa); the event
append takes the same lock, so consumers following event ids (segments, the analytics mirror) see
the chunk's events commit in id order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.identity import bulk_store
from siyu.identity import store as identity_store
from siyu.identity.graph import BatchGraph
from siyu.identity.models import Decision, Identifier, IdentifierKind
from siyu.identity.resolve import resolve
from siyu.identity.rules import IdentityRules
from siyu.ingest import store as ingest_store
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.pipeline import IngestResult, event_row, write_graph
from siyu.ingest.spec import Message
from siyu.profiles import store as profile_store
from siyu.profiles.rollups import Rollup, add_event, channel_of
from siyu.profiles.store import ProfileState
from siyu.profiles.traits import apply_traits

Event = tuple[Message, list[Identifier]]
Traits = tuple[dict[str, Any], dict[str, Any]]  # (traits, trait metadata)


# --- pure decisions ---------------------------------------------------------------------------

def first_occurrences(message_ids: Sequence[str]) -> dict[str, int]:
    """Message id -> the position of its first occurrence: later repeats in a chunk are duplicates."""
    unique: dict[str, int] = {}
    for index, message_id in enumerate(message_ids):
        unique.setdefault(message_id, index)
    return unique


def wanted_identifiers(events: Sequence[Event]) -> set[Identifier]:
    """Every identifier whose owner resolution may ask for: the events' own, and for an alias call
    both readings of its previousId (see :func:`alias_identifiers`)."""
    wanted: set[Identifier] = set()
    for message, found in events:
        wanted.update(found)
        if message.type == "alias" and message.previous_id is not None:
            wanted.add(Identifier(IdentifierKind.USER_ID, message.previous_id))
            wanted.add(Identifier(IdentifierKind.ANONYMOUS_ID, message.previous_id))
    return wanted


def involved_profiles(events: Sequence[Event], owners: dict[Identifier, int]) -> set[int]:
    """Stored profiles whose full identities a decision may need (to check limits or merge).

    An event whose identifiers all belong to one stored profile is settled without them, and stays
    settled whatever the events before it do: a merge moves all of a profile's identifiers at once.
    Only owners seen on other events (new identifiers, several owners, an alias) can be attached
    to, merged or limit-checked.
    """
    involved: set[int] = set()
    for message, found in events:
        seen = [owners.get(i) for i in found]
        if message.type == "alias" or not seen or seen[0] is None or seen.count(seen[0]) != len(seen):
            involved.update(owner for owner in seen if owner is not None)
    if any(message.type == "alias" for message, _ in events):
        involved.update(owners.values())
    return involved


def alias_identifiers(message: Message, found: list[Identifier], graph: BatchGraph) -> list[Identifier]:
    """``alias(previousId → userId)``: previousId is the id the person had before (Segment spec),
    a user id if one is known by it, else an anonymous id."""
    previous_user = Identifier(IdentifierKind.USER_ID, message.previous_id or "")
    previous = previous_user if graph.owner(previous_user) is not None else Identifier(
        IdentifierKind.ANONYMOUS_ID, message.previous_id or "")
    return [*found, previous]


def resolve_in_order(events: Sequence[Event], graph: BatchGraph, rules: IdentityRules) -> list[int | None]:
    """Each event's profile (stored id, or a temporary negative id for a profile the chunk creates),
    deciding event after event so that each sees the links and merges of those before it."""
    assigned: list[int | None] = []
    owners = graph.owners
    for message, found in events:
        if message.type == "alias" and message.previous_id is not None:
            found = alias_identifiers(message, found, graph)
        elif found:
            # resolve()'s first case, without building a decision: one stored or earlier owner of all.
            first = owners.get(found[0])
            if first is not None and all(owners.get(i) == first for i in found):
                assigned.append(first)
                continue
        decision = resolve(found, graph, rules)
        assigned.append(graph.apply(decision, message.message_id))
    return assigned


def involved_owners(found: Sequence[list[Identifier]], owners: dict[Identifier, int]) -> set[int]:
    """:func:`involved_profiles` for events that carry no alias (imports: orders and identify calls)."""
    involved: set[int] = set()
    for identifiers in found:
        seen = [owners.get(i) for i in identifiers]
        if not seen or seen[0] is None or seen.count(seen[0]) != len(seen):
            involved.update(owner for owner in seen if owner is not None)
    return involved


def resolve_identifiers_in_order(events: Sequence[tuple[str, list[Identifier]]], graph: BatchGraph,
                                 rules: IdentityRules) -> list[int | None]:
    """:func:`resolve_in_order` for events given as (message id, identifiers), none of them an alias:
    what the set-based import (:mod:`siyu.imports.bulk`) has instead of messages."""
    assigned: list[int | None] = []
    owners = graph.owners
    for message_id, found in events:
        if found:
            first = owners.get(found[0])
            if first is not None and all(owners.get(i) == first for i in found):
                assigned.append(first)
                continue
            if first is None and _all_new_and_one_of_each_type(found, owners, rules):
                # resolve()'s second case without its loop: nobody owns any of them and no limit
                # can break, so a new profile gets them all, in priority order (a new buyer).
                assigned.append(graph.apply(Decision(None, attach=sorted(found, key=rules.rank)), message_id))
                continue
        assigned.append(graph.apply(resolve(found, graph, rules), message_id))
    return assigned


def _all_new_and_one_of_each_type(found: list[Identifier], owners: dict[Identifier, int],
                                  rules: IdentityRules) -> bool:
    types = {i.type for i in found}
    return (len(types) == len(found) and all(owners.get(i) is None for i in found)
            and all(rules.limit(i) >= 1 for i in found))


@dataclass
class Folding:
    """What a chunk's events add to their profiles, per profile."""

    rollups: dict[int, Rollup] = field(default_factory=lambda: defaultdict(Rollup))
    trait_updates: dict[int, list[tuple[dict[str, Any], Message]]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[tuple[int, str], list[Any]] = field(default_factory=dict)  # (profile, name) -> [n, first, last]


def fold_events(events: Sequence[Event], profile_ids: Sequence[int | None]) -> Folding:
    """Rollup deltas, trait updates (in event order) and per-event-name counts of the chunk.

    The traits of an event are its profile traits with the reserved identifier traits replaced by
    their normalised form (``+8613800138000``, not ``138 0013 8000``), as the pipeline stores them.
    """
    folding = Folding()
    counts = folding.counts
    for (message, found), profile_id in zip(events, profile_ids, strict=True):
        if profile_id is None:
            continue
        traits = message.profile_traits()
        if traits:  # i.type's part before ":" is i.kind.value, without the enum lookup
            normalised = {kind: i.value for i in found if (kind := i.type.partition(":")[0]) in traits}
            folding.trait_updates[profile_id].append(({**traits, **normalised}, message))
        add_event(folding.rollups[profile_id], name=message.name, at=message.timestamp,
                  properties=message.properties, channel=channel_of(message.properties, message.context, traits))
        at = message.timestamp
        entry = counts.get((profile_id, message.name))
        if entry is None:
            counts[(profile_id, message.name)] = [1, at, at]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], at)
            entry[2] = max(entry[2], at)
    return folding


def folded_traits(stored: dict[int, Traits], updates: dict[int, list[tuple[dict[str, Any], Message]]]
                  ) -> dict[int, Traits]:
    """Each updated profile's traits after its updates, applied in event order onto what it had
    (last write wins by event time: :func:`siyu.profiles.traits.apply_traits`)."""
    changed: dict[int, Traits] = {}
    for profile_id, incoming in updates.items():
        traits, meta = stored.get(profile_id, ({}, {}))
        for values, message in incoming:
            apply_traits(traits, meta, values, message.timestamp, message.source)
        changed[profile_id] = (traits, meta)
    return changed


# --- the entry point ----------------------------------------------------------------------------

def apply_events(conn: Connection, workspace_id: int, messages: list[Message], *, rules: IdentityRules,
                 region: str = "CN", dedupe_window: timedelta = timedelta(days=7),
                 identifiers: list[list[Identifier]] | None = None) -> IngestResult:
    """Store a chunk in the caller's write transaction; the same contract and result as
    :func:`siyu.ingest.pipeline.ingest` (duplicates within the chunk and against the dedupe window
    are dropped; ``profile_ids`` maps each stored message id to its final profile)."""
    now = clock.now()
    result = IngestResult()
    if identifiers is None:
        identifiers = [identifiers_of(m, rules, region) for m in messages]
    unique = first_occurrences([m.message_id for m in messages])
    result.duplicates = len(messages) - len(unique)
    fresh = bulk_store.claim_message_ids(conn, workspace_id, {
        message_id: messages[index].dedupe_forever for message_id, index in unique.items()}, now + dedupe_window)
    result.duplicates += len(unique) - len(fresh)
    events = [(messages[i], identifiers[i]) for m, i in unique.items() if m in fresh]
    if not events:
        return result

    identity_store.lock_identity_graph(conn, workspace_id)
    # Owners straight from the database, not through the process's owner cache: a chunk's tens of
    # thousands of identifiers, mostly seen once, would evict what live traffic keeps there (and
    # cost ~50 MB while doing it, at no gain in speed: measured on 300k Tmall rows). The links and
    # merges below replace the version token, so every process's cache, this one's too, drops
    # what it knew on its next batch.
    owners = identity_store.load_owners(conn, workspace_id, wanted_identifiers(events))
    members = identity_store.load_identities_of(conn, workspace_id, involved_profiles(events, owners))
    graph = BatchGraph.load(owners, members)
    assigned = resolve_in_order(events, graph, rules)

    real = dict(zip(graph.new_profiles, identity_store.allocate_profile_ids(conn, len(graph.new_profiles)),
                    strict=True))
    write_graph(conn, workspace_id, graph, real, now, events[0][0].source)
    final = [real.get(graph.canonical(p), graph.canonical(p)) if p is not None else None for p in assigned]
    created = {real[p] for p in graph.new_profiles if p not in graph.merged_into}

    ingest_store.append_events(conn, workspace_id, [event_row(workspace_id, m, p)
                                                     for (m, _), p in zip(events, final, strict=True)])
    _write_profiles(conn, workspace_id, fold_events(events, final), created, now)
    result.accepted = len(events)
    result.merges = len(graph.merges)
    result.conflicts = len(graph.conflicts)
    result.profile_ids = {m.message_id: p for (m, _), p in zip(events, final, strict=True)}
    return result


def _write_profiles(conn: Connection, workspace_id: int, folding: Folding, created: set[int], now: datetime) -> None:
    """New profiles inserted whole; each stored one updated once (traits and rollup deltas together);
    per-event counts upserted."""
    stored_updates = [p for p in folding.trait_updates if p not in created]
    traits = folded_traits(bulk_store.load_traits(conn, workspace_id, stored_updates), folding.trait_updates)
    profile_store.save_states(conn, workspace_id, [
        ProfileState(id=p, traits=traits.get(p, ({}, {}))[0], trait_meta=traits.get(p, ({}, {}))[1],
                     rollup=folding.rollups[p], created_at=now, is_new=True) for p in sorted(created)], now)
    bulk_store.update_stored_profiles(
        conn, workspace_id, {p: r for p, r in folding.rollups.items() if p not in created},
        {p: t for p, t in traits.items() if p not in created}, now)
    profile_store.add_event_counts(conn, workspace_id, folding.counts)
