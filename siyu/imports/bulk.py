"""The set-based import path: a converted row becomes a :class:`Prepared` record in the converter's
process, and the writer stores a whole chunk of them with a fixed number of statements.

Why a record of its own instead of the Segment :class:`~siyu.ingest.spec.Message`: the writer used
to rebuild every message (dicts, datetimes) from what the converter process sent, serialise it back
into the event row, and convert every time to milliseconds again to fold it; together ~40% of the
writing process's CPU. Everything that depends on the row alone is now done once, in the converter,
on the other core: the event row exactly as :func:`siyu.ingest.pipeline.event_row` writes it (JSON
already serialised), the identifiers, and the fold's inputs (the profile traits with identifiers
normalised, the trait stamp, the acquisition channel, the order amount). The writer keeps only what
needs the database: dedupe, resolution, and the folds per person.

What is stored is what :func:`siyu.ingest.pipeline.ingest` stores for the same messages, in the same
chunks: events in order, dedupe keys (kept for ever: re-importing changes nothing), links, merges
and conflicts (resolved event by event in file order through :func:`siyu.identity.resolve.resolve`:
the identity rules make the outcome depend on order), traits with their metadata, rollups and
per-event-name counts (``tests/imports/test_bulk.py`` compares the two paths on both databases).

Concurrency and crash safety: a chunk is one write transaction holding the workspace's identity
graph lock (:func:`siyu.identity.store.lock_identity_graph`) from before the owners are read until
the commit, like the pipeline's batches; the dedupe keys commit with the events, so after a crash a
re-run skips exactly the chunks that committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection

from siyu.identity import store as identity_store
from siyu.identity.bulk import first_occurrences, involved_owners, resolve_identifiers_in_order
from siyu.identity.bulk_store import claim_message_ids
from siyu.identity.graph import BatchGraph
from siyu.identity.models import Identifier
from siyu.identity.rules import IdentityRules
from siyu.imports import bulk_store
from siyu.ingest import store as ingest_store
from siyu.ingest.pipeline import event_row, write_graph
from siyu.ingest.spec import Message
from siyu.profiles.bulk import add_count, add_event_ms
from siyu.profiles.rollups import ORDER_EVENT, Rollup, channel_of, order_amount

# Import keys never expire (re-import changes nothing); the window only matters for keys that do.
DEDUPE_WINDOW = timedelta(days=7)

# Positions in Prepared.event (the event row of siyu.ingest.store.EVENT_COLUMNS without its first
# two columns, workspace and profile).
_MESSAGE_ID, _NAME, _TIMESTAMP, _SOURCE = 0, 2, 5, 8


class Prepared(NamedTuple):
    """One converted row (or order) as the writer needs it. Plain values only: it crosses from the
    converter's process as JSON."""

    rows: int  # file rows it came from (an order's line items are several)
    tags: list[str]
    event: tuple[Any, ...]  # event_row(...)[2:]: message id, type, name, ..., properties, traits, context
    identifiers: list[tuple[str, str]]  # (type, normalised value), as siyu.ingest.identifiers finds them
    stamp: str  # the event time as apply_traits stamps traits: timestamp.isoformat()
    traits: dict[str, Any] | None  # profile traits with identifier traits normalised; None: none
    channel: str | None
    amount: float  # order_amount(properties) for an order, else 0

    @property
    def message_id(self) -> str:
        return str(self.event[_MESSAGE_ID])


def prepare(message: Message, identifiers: list[Identifier], rows: int, tags: list[str]) -> Prepared:
    """Everything about a converted message that does not need the database (runs in the converter)."""
    traits = message.profile_traits()
    incoming = None
    if traits:  # the identifier traits in their normalised form (+8613800138000), as the pipeline folds them
        normalised = {kind: i.value for i in identifiers if (kind := i.type.partition(":")[0]) in traits}
        incoming = {**traits, **normalised}
    amount = order_amount(message.properties) if message.name == ORDER_EVENT else 0.0
    return Prepared(rows, tags, event_row(0, message, None)[2:], [(i.type, i.value) for i in identifiers],
                    message.timestamp.isoformat(), incoming, channel_of(message.properties, message.context, traits),
                    amount)


def store_chunk(conn: Connection, workspace_id: int, chunk: Sequence[Prepared], *, rules: IdentityRules,
                now: datetime) -> dict[str, int | None]:
    """Store a chunk in the caller's write transaction. Returns each stored message id's final
    profile; messages already stored (by an earlier run or earlier in the chunk) are left out."""
    unique = first_occurrences([item.event[_MESSAGE_ID] for item in chunk])
    fresh = claim_message_ids(conn, workspace_id, dict.fromkeys(unique, True), now + DEDUPE_WINDOW)
    chosen = [chunk[index] for message_id, index in unique.items() if message_id in fresh]
    if not chosen:
        return {}
    found = [[Identifier(t, v) for t, v in item.identifiers] for item in chosen]

    identity_store.lock_identity_graph(conn, workspace_id)
    wanted: set[Identifier] = set()
    for identifiers in found:
        wanted.update(identifiers)
    owners = identity_store.load_owners(conn, workspace_id, wanted)
    graph = BatchGraph.load(owners, identity_store.load_identities_of(conn, workspace_id,
                                                                    involved_owners(found, owners)))
    assigned = resolve_identifiers_in_order([(item.event[_MESSAGE_ID], identifiers)
                                             for item, identifiers in zip(chosen, found, strict=True)], graph, rules)
    real = dict(zip(graph.new_profiles, identity_store.allocate_profile_ids(conn, len(graph.new_profiles)),
                    strict=True))
    write_graph(conn, workspace_id, graph, real, now, chosen[0].event[_SOURCE])
    final: list[int | None] = []
    for profile_id in assigned:
        if profile_id is not None:
            profile_id = graph.canonical(profile_id)
            profile_id = real.get(profile_id, profile_id)
        final.append(profile_id)
    created = {real[p] for p in graph.new_profiles if p not in graph.merged_into}

    ingest_store.append_events(conn, workspace_id, [(workspace_id, profile_id, *item.event)
                                                     for item, profile_id in zip(chosen, final, strict=True)])
    _fold_and_write(conn, workspace_id, chosen, final, created, now)
    return {item.event[_MESSAGE_ID]: profile_id for item, profile_id in zip(chosen, final, strict=True)}


def _fold_and_write(conn: Connection, workspace_id: int, chosen: list[Prepared], final: list[int | None],
                    created: set[int], now: datetime) -> None:
    """Rollups, trait updates (in event order) and per-event-name counts, once per person."""
    rollups: dict[int, Rollup] = {}
    trait_updates: dict[int, list[tuple[dict[str, Any], str, str]]] = defaultdict(list)
    counts: dict[tuple[int, str], list[int]] = {}
    for item, profile_id in zip(chosen, final, strict=True):
        if profile_id is None:
            continue
        event = item.event
        if item.traits:
            trait_updates[profile_id].append((item.traits, item.stamp, event[_SOURCE]))
        rollup = rollups.get(profile_id)
        if rollup is None:
            rollup = rollups[profile_id] = Rollup()
        add_event_ms(rollup, event[_NAME], event[_TIMESTAMP], item.amount, item.channel)
        add_count(counts, profile_id, event[_NAME], event[_TIMESTAMP])
    bulk_store.write_profiles(conn, workspace_id, rollups, trait_updates, counts, created, now)
