"""The resolution decision for one event, as a pure function over a view of the identity graph.

Given the identifiers on an incoming event (already normalised, blocked values removed) and who
owns each of them now, decide which profile the event belongs to, which identifiers to link to it,
which profiles to merge into it, and which links the rules refuse.

Algorithm (Segment Unify's, see :mod:`siyu.identity.rules`):

1. The candidate profiles are the owners of the incoming identifiers.
2. None: a new profile gets all incoming identifiers (extras beyond a limit are refused).
3. Otherwise the survivor is the oldest candidate (lowest id, so ids that other systems stored
   stay valid); the union of the candidates' identifiers and the incoming ones is checked against
   the per-type limits.
4. If a limit breaks, the incoming identifier with the lowest priority is demoted (recorded as a
   conflict, not linked) and matching is retried from step 1 with the rest.

A shared tablet (one anonymous id, two logged-in users) therefore never merges the two users: the
second login's user_id would give the first user's profile two user_ids, so the anonymous id is
demoted and the event goes to the second user's own profile.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from siyu.identity.models import Conflict, Decision, Identifier, IdentifierKind
from siyu.identity.rules import IdentityRules


class GraphView(Protocol):
    def owner(self, identifier: Identifier) -> int | None: ...

    def identifiers_of(self, profile_id: int) -> Iterable[Identifier]: ...


def resolve(incoming: Iterable[Identifier], graph: GraphView, rules: IdentityRules) -> Decision:
    pending = sorted(set(incoming), key=rules.rank)
    conflicts: list[Conflict] = []
    known = {graph.owner(i) for i in pending}
    if len(known) == 1 and None not in known:
        return Decision(profile_id=known.pop())  # the common case: a known person, nothing new
    while True:
        owners = {i: graph.owner(i) for i in pending}
        candidates = sorted({p for p in owners.values() if p is not None}, key=_age)
        if not candidates:
            kept, refused = _within_limits(pending, rules)
            conflicts += [Conflict(i, (), f"limit:{i.type}={rules.limit(i)}",
                                   f"The event carries more {i.type} values than one profile may hold.")
                          for i in refused]
            return Decision(profile_id=None, attach=kept, conflicts=conflicts)
        combined = {i for p in candidates for i in graph.identifiers_of(p)} | set(pending)
        broken = broken_limit(combined, rules)
        if broken is None:
            survivor = candidates[0]
            attach = [i for i in pending if owners[i] is None]
            return Decision(profile_id=survivor, attach=attach, merge_from=candidates[1:], conflicts=conflicts)
        demoted = pending.pop()  # lowest priority on the incoming event
        conflicts.append(Conflict(
            identifier=demoted,
            profile_ids=tuple(candidates),
            rule=f"limit:{broken}={rules.limits[_kind_of(broken)]}",
            detail=(f"Linking {demoted.type}={demoted.value} would give one profile more than "
                    f"{rules.limits[_kind_of(broken)]} {broken} value(s); it was not linked."),
        ))
        if not pending:
            return Decision(profile_id=None, attach=[], conflicts=conflicts)


def _age(profile_id: int) -> tuple[bool, int]:
    """Oldest first: stored profiles (positive ids, in creation order) before the batch's new ones
    (temporary ids -1, -2, ... in creation order)."""
    return (profile_id < 0, abs(profile_id))


def _kind_of(type_: str) -> IdentifierKind:
    return IdentifierKind(type_.split(":", 1)[0])


def broken_limit(identifiers: set[Identifier], rules: IdentityRules) -> str | None:
    """The first identifier type (with scope) of which ``identifiers`` hold more than the limit."""
    counts = Counter(rules.limit_key(i) for i in identifiers)
    for key in sorted(counts):
        if counts[key] > rules.limits[_kind_of(key)]:
            return key
    return None


def _within_limits(identifiers: list[Identifier], rules: IdentityRules) -> tuple[list[Identifier], list[Identifier]]:
    kept: list[Identifier] = []
    refused: list[Identifier] = []
    counts: Counter[str] = Counter()
    for identifier in identifiers:
        key = rules.limit_key(identifier)
        if counts[key] < rules.limit(identifier):
            counts[key] += 1
            kept.append(identifier)
        else:
            refused.append(identifier)
    return kept, refused
