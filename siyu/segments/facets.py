"""Which saved segments a person's new log entries can change: the real-time worker's skip rule.

A definition reads a few *facets* of a person (traits, tags, identifiers, consent, rollups,
scores, events of certain names, membership of certain segments); a log entry can change only
some of them. When nothing a definition reads has changed, evaluating it again would give the
stored answer — up to the passing of time, which is the scheduled refresh's job, not real time's
("no order for 90 days" becomes true with no event at all) — so the worker skips it.

What each kind of entry can change (the writers are in siyu.ingest and siyu.profiles):

============================== =============================================================
entry                          may change
============================== =============================================================
ingested (has a userId or      its own event name; every rollup (event count, first / last
anonymousId: the spec requires seen, orders, channels); identity links (any message may link
one on every message)          a new id); traits when it carried some (identify's ``traits``,
                               ``context.traits``)
``Tag Added`` / ``Tag Removed`` its event name and tags
written by siyu (no ids)
``Consent Changed`` (no ids)   its event name and consent
``Traits Changed`` (no ids)    its event name and traits
``Points Changed`` (no ids)    its event name and loyalty
any other entry without ids    its event name and every profile facet (traits, tags,
(``Tier Changed`` among them)  identifiers, consent, rollups, loyalty): nothing narrower is known
============================== =============================================================

Loyalty (tier, points balance, growth value) changes with siyu.loyalty's own entries: every upgrade
and downgrade writes ``Tier Changed``, an entry without ids, which re-evaluates every profile facet
of its person, loyalty included; every change of a member's balance or growth value without one
(points earned, spent, expired, taken back by a refund; growth from events, taken back by a refund)
writes ``Points Changed``, which re-evaluates loyalty only. The one change that writes neither is the
close of an evaluation period (every member's growth value back to 0 at once): conditions on growth
catch up with it at the scheduled refresh.

Two things an entry does not say by itself are supplied by the worker from the database: the
person is new (no entry at or before the cursor: no stored membership to compare with) or took
part in a merge the entry caused (events, tags, consent, traits and ids of two people became
one; the merged-away id must leave every segment). Both mean :data:`EVERYTHING`. Scores change
only when the scoring job runs, never with an entry, so no entry marks them changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from siyu.loyalty.models import POINTS_CHANGED
from siyu.profiles.editing import CONSENT_CHANGED, TRAITS_CHANGED
from siyu.profiles.tagging import TAG_ADDED, TAG_REMOVED
from siyu.segments.models import (
    All,
    Any_,
    ConsentCondition,
    EventCondition,
    IdentifierCondition,
    LoyaltyCondition,
    Node,
    Not,
    RollupCondition,
    ScoreCondition,
    SegmentCondition,
    TagCondition,
    TraitCondition,
)


class Facet(StrEnum):
    TRAITS = "traits"
    TAGS = "tags"
    IDENTIFIERS = "identifiers"
    CONSENT = "consent"
    ROLLUPS = "rollups"
    SCORES = "scores"
    LOYALTY = "loyalty"  # tier, points balance, growth value (siyu.loyalty)


PROFILE_STATE = frozenset(Facet) - {Facet.SCORES}
INGESTED = frozenset({Facet.ROLLUPS, Facet.IDENTIFIERS})
BRAND_ACTIONS = {TAG_ADDED: Facet.TAGS, TAG_REMOVED: Facet.TAGS, CONSENT_CHANGED: Facet.CONSENT,
                 TRAITS_CHANGED: Facet.TRAITS}
LOYALTY_ENTRIES = {POINTS_CHANGED: Facet.LOYALTY}  # balance or growth value (siyu.loyalty.store)


@dataclass(frozen=True)
class Reads:
    """What a definition's answer depends on (besides the person being live and the time)."""

    facets: frozenset[Facet] = frozenset()
    events: frozenset[str] = frozenset()
    segments: frozenset[int] = frozenset()

    def __or__(self, other: Reads) -> Reads:
        return Reads(self.facets | other.facets, self.events | other.events, self.segments | other.segments)


def reads(node: Node) -> Reads:
    match node:
        case All(nodes) | Any_(nodes):
            found = Reads()
            for inner in nodes:
                found = found | reads(inner)
            return found
        case Not(inner):
            return reads(inner)
        case TraitCondition():
            return Reads(facets=frozenset({Facet.TRAITS}))
        case TagCondition():
            return Reads(facets=frozenset({Facet.TAGS}))
        case IdentifierCondition():
            return Reads(facets=frozenset({Facet.IDENTIFIERS}))
        case ConsentCondition():
            return Reads(facets=frozenset({Facet.CONSENT}))
        case EventCondition(name=name):
            return Reads(events=frozenset({name}))
        case RollupCondition():
            return Reads(facets=frozenset({Facet.ROLLUPS}))
        case ScoreCondition():
            return Reads(facets=frozenset({Facet.SCORES}))
        case SegmentCondition(segment_id=segment_id):
            return Reads(segments=frozenset({segment_id}))
        case LoyaltyCondition():
            return Reads(facets=frozenset({Facet.LOYALTY}))
        case _:
            assert_never(node)


@dataclass(frozen=True)
class Change:
    """What may have changed about one person since the cursor."""

    facets: frozenset[Facet] = frozenset()
    events: frozenset[str] = frozenset()
    segments: frozenset[int] = frozenset()  # entered or left earlier in this pass
    everything: bool = False

    def __or__(self, other: Change) -> Change:
        return Change(self.facets | other.facets, self.events | other.events, self.segments | other.segments,
                      self.everything or other.everything)


EVERYTHING = Change(everything=True)


@dataclass(frozen=True)
class LogEntry:
    """One entry of the event log as the worker sees it."""

    id: int
    profile_id: int | None
    name: str
    message_id: str = ""
    identified: bool = True  # has a userId or anonymousId: it came in through ingest
    carries_traits: bool = False  # has identify traits or context.traits


def change_of(entry: LogEntry) -> Change:
    """What one entry may have changed about its person (the table in the module docstring)."""
    events = frozenset({entry.name})
    if entry.identified:
        return Change(INGESTED | ({Facet.TRAITS} if entry.carries_traits else frozenset()), events)
    if entry.name in BRAND_ACTIONS:
        return Change(frozenset({BRAND_ACTIONS[entry.name]}), events)
    if entry.name in LOYALTY_ENTRIES:
        return Change(frozenset({LOYALTY_ENTRIES[entry.name]}), events)
    return Change(PROFILE_STATE, events)


def may_change(definition: Reads, change: Change) -> bool:
    """Can ``change`` make the definition's answer for this person differ from the stored one?"""
    return (change.everything or bool(definition.facets & change.facets) or bool(definition.events & change.events)
            or bool(definition.segments & change.segments))
