"""The real-time skip rule as plain values: what a definition reads, what a log entry may change,
and — against the reference evaluator, on thousands of generated people and definitions — that a
change the rule calls irrelevant never changes an answer."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from siyu.segments.evaluate import Occurrence, Person, matches
from siyu.segments.facets import (
    EVERYTHING,
    PROFILE_STATE,
    Change,
    Facet,
    LogEntry,
    Reads,
    change_of,
    may_change,
    reads,
)
from siyu.segments.parse import parse
from tests.segments.definitions import definition, leaf
from tests.segments.population import CHANNELS, CITIES, EVENTS, ID_TYPES, NOW, RFM, TAGS

SEGMENT = 9_001  # the segment id the generated definitions test membership of


@pytest.mark.parametrize(("raw", "expected"), [
    ({"trait": "city", "op": "eq", "value": "上海"}, Reads(facets=frozenset({Facet.TRAITS}))),
    ({"tag": "VIP", "op": "has_not"}, Reads(facets=frozenset({Facet.TAGS}))),
    ({"identifier": "phone"}, Reads(facets=frozenset({Facet.IDENTIFIERS}))),
    ({"consent": "sms"}, Reads(facets=frozenset({Facet.CONSENT}))),
    ({"rollup": "last_seen_at", "op": "not_within_last", "value": "60d"}, Reads(facets=frozenset({Facet.ROLLUPS}))),
    ({"score": "rfm_segment", "op": "eq", "value": "loyal"}, Reads(facets=frozenset({Facet.SCORES}))),
    ({"not": {"event": "Order Completed", "within": "90d"}}, Reads(events=frozenset({"Order Completed"}))),
    ({"segment": 7, "op": "not_member"}, Reads(segments=frozenset({7}))),
    ({"any": [{"trait": "city", "op": "eq", "value": "上海"}, {"all": [{"event": "Invite Sent"}, {"segment": 3}]}]},
     Reads(frozenset({Facet.TRAITS}), frozenset({"Invite Sent"}), frozenset({3}))),
])
def test_a_definition_reads_the_facets_of_its_leaves(raw: dict[str, Any], expected: Reads) -> None:
    assert reads(parse(raw)) == expected


@pytest.mark.parametrize(("entry", "expected"), [
    (LogEntry(1, 5, "Order Completed"), Change(frozenset({Facet.ROLLUPS, Facet.IDENTIFIERS}),
                                                frozenset({"Order Completed"}))),
    (LogEntry(1, 5, "identify", carries_traits=True),
     Change(frozenset({Facet.ROLLUPS, Facet.IDENTIFIERS, Facet.TRAITS}), frozenset({"identify"}))),
    (LogEntry(1, 5, "Tag Added", identified=False), Change(frozenset({Facet.TAGS}), frozenset({"Tag Added"}))),
    (LogEntry(1, 5, "Tag Removed", identified=False), Change(frozenset({Facet.TAGS}), frozenset({"Tag Removed"}))),
    (LogEntry(1, 5, "Consent Changed", identified=False),
     Change(frozenset({Facet.CONSENT}), frozenset({"Consent Changed"}))),
    (LogEntry(1, 5, "Traits Changed", identified=False),
     Change(frozenset({Facet.TRAITS}), frozenset({"Traits Changed"}))),
    # A client may name a track call "Tag Added": it came through ingest, so it counts as ingested.
    (LogEntry(1, 5, "Tag Added"), Change(frozenset({Facet.ROLLUPS, Facet.IDENTIFIERS}), frozenset({"Tag Added"}))),
    (LogEntry(1, 5, "Message Sent", identified=False), Change(PROFILE_STATE, frozenset({"Message Sent"}))),
])
def test_what_a_log_entry_may_change(entry: LogEntry, expected: Change) -> None:
    assert change_of(entry) == expected


def test_no_entry_marks_scores_changed() -> None:
    """Scores move only when the scoring job runs; the scheduled refresh follows it."""
    for entry in (LogEntry(1, 5, "x"), LogEntry(1, 5, "x", identified=False), LogEntry(1, 5, "x", carries_traits=True)):
        assert Facet.SCORES not in change_of(entry).facets


def test_everything_affects_even_a_definition_that_reads_nothing_changeable() -> None:
    score_only = reads(parse({"score": "p_alive", "op": "lt", "value": 0.5}))
    assert not may_change(score_only, change_of(LogEntry(1, 5, "Order Completed")))
    assert may_change(score_only, EVERYTHING)


# --- the property: an irrelevant change never changes an answer --------------------------------------------------

def _person(rng: random.Random) -> Person:
    traits: dict[str, Any] = {}
    if rng.random() < 0.8:
        traits["city"] = rng.choice(CITIES)
    if rng.random() < 0.6:
        traits["age"] = rng.choice([18, 25, 30, 41])
    if rng.random() < 0.4:
        traits["is_member"] = rng.random() < 0.5
    if rng.random() < 0.5:
        traits["signup_date"] = (NOW - timedelta(days=rng.randint(0, 400))).strftime("%Y-%m-%d")
    events = [_occurrence(rng) for _ in range(rng.choice([0, 1, 2, 4, 7]))]
    orders = [e for e in events if e.name == "Order Completed"]
    rollups = {"order_count": len(orders), "total_spend": float(99 * len(orders)),
               "last_order_at": max((o.timestamp for o in orders), default=None),
               "first_seen_at": min((e.timestamp for e in events), default=None),
               "first_channel": rng.choice(CHANNELS)}
    scores = {"rfm_segment": rng.choice(RFM), "p_alive": rng.choice([0.1, 0.5, 0.9]),
              "rfm_recency": rng.randint(1, 5)} if rng.random() < 0.7 else {}
    consents = {(rng.choice(["sms", "wechat", "any", "email"]), rng.choice(["marketing", "transactional"])):
                rng.choice(["granted", "revoked"]) for _ in range(rng.randint(0, 2))}
    return Person(traits=traits, tags=frozenset(rng.sample(TAGS, rng.randint(0, 3))),
                  identity_types=frozenset(rng.sample(ID_TYPES, rng.randint(0, 3))), consents=consents,
                  events=events, rollups=rollups, scores=scores,
                  segments=frozenset({SEGMENT}) if rng.random() < 0.4 else frozenset())


def _occurrence(rng: random.Random, name: str | None = None) -> Occurrence:
    name = name or rng.choice(EVENTS)
    props: dict[str, Any] = {"revenue": rng.choice([49, 199, 1299]), "channel": rng.choice(["tmall", "store"])} \
        if name == "Order Completed" else {"sku": rng.choice(["LIP-01", "EYE-02"]), "price": rng.choice([59, 89])}
    return Occurrence(name, NOW - timedelta(hours=rng.randint(-12, 24 * 300)), props)


KINDS = ["event", "traits", "tags", "identifiers", "consent", "rollups", "scores", "segments"]


def _mutated(rng: random.Random, person: Person, read: Reads) -> tuple[Person, Change]:
    """One thing happens to the person — the way the log would report it — and the new person.
    Half the time it is something the definition reads, so that answers do change often."""
    relevant = [f.value for f in read.facets] + (["event"] if read.events else []) + \
        (["segments"] if read.segments else [])
    kind = rng.choice(relevant if relevant and rng.random() < 0.5 else KINDS)
    other = _person(rng)
    match kind:
        case "event":
            name = rng.choice(sorted(read.events) if read.events and rng.random() < 0.7 else EVENTS)
            return replace(person, events=[*person.events, _occurrence(rng, name)]), Change(events=frozenset({name}))
        case "traits":
            return replace(person, traits=other.traits), Change(frozenset({Facet.TRAITS}))
        case "tags":
            return replace(person, tags=other.tags), Change(frozenset({Facet.TAGS}))
        case "identifiers":
            return replace(person, identity_types=other.identity_types), Change(frozenset({Facet.IDENTIFIERS}))
        case "consent":
            return replace(person, consents=other.consents), Change(frozenset({Facet.CONSENT}))
        case "rollups":
            return replace(person, rollups=other.rollups), Change(frozenset({Facet.ROLLUPS}))
        case "scores":
            return replace(person, scores=other.scores), Change(frozenset({Facet.SCORES}))
        case _:
            return replace(person, segments=person.segments ^ {SEGMENT}), Change(segments=frozenset({SEGMENT}))


def test_a_change_the_rule_calls_irrelevant_never_changes_an_answer() -> None:
    rng = random.Random(2026)
    skipped = flipped = 0
    for _ in range(6000):
        tree = parse(definition(rng) if rng.random() < 0.7 else leaf(rng))
        before = _person(rng)
        after, change = _mutated(rng, before, reads(tree))
        answer_changed = matches(tree, before, NOW) != matches(tree, after, NOW)
        if not may_change(reads(tree), change):
            skipped += 1
            assert not answer_changed, f"{tree} changed its answer after a {change} the rule skips"
        flipped += answer_changed
    assert skipped > 1500 and flipped > 800, "the generated cases must exercise both sides of the rule"
