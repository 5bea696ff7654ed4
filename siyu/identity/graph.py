"""The identity graph of one ingest batch, held in memory while the batch is resolved.

The pipeline loads the owners of every identifier in the batch, and every identifier of those
owners, in two queries; events are then resolved one after another against this view (each one
sees the links and merges of the events before it), and the changes are written back at the end.
New profiles get temporary negative ids until the flush allocates real ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from siyu.identity.models import Conflict, Decision, Identifier


@dataclass
class PendingMerge:
    from_profile_id: int
    into_profile_id: int
    identities: list[Identifier]
    message_id: str | None


@dataclass
class BatchGraph:
    owners: dict[Identifier, int] = field(default_factory=dict)
    members: dict[int, set[Identifier]] = field(default_factory=lambda: defaultdict(set))
    new_links: dict[Identifier, int] = field(default_factory=dict)  # identifier -> profile (to insert)
    new_profiles: list[int] = field(default_factory=list)  # temporary negative ids, in creation order
    merges: list[PendingMerge] = field(default_factory=list)
    conflicts: list[tuple[Conflict, str | None]] = field(default_factory=list)
    merged_into: dict[int, int] = field(default_factory=dict)
    _next_temporary: int = -1

    @classmethod
    def load(cls, owners: Mapping[Identifier, int], members: Mapping[int, Iterable[Identifier]]) -> BatchGraph:
        graph = cls()
        graph.owners.update(owners)
        for profile_id, identifiers in members.items():
            graph.members[profile_id].update(identifiers)
        return graph

    def owner(self, identifier: Identifier) -> int | None:
        return self.owners.get(identifier)

    def identifiers_of(self, profile_id: int) -> Iterable[Identifier]:
        return self.members.get(profile_id, ())

    def canonical(self, profile_id: int) -> int:
        while profile_id in self.merged_into:
            profile_id = self.merged_into[profile_id]
        return profile_id

    def apply(self, decision: Decision, message_id: str | None) -> int | None:
        """Carry out a decision on the in-memory graph and return the event's profile id."""
        for conflict in decision.conflicts:
            self.conflicts.append((conflict, message_id))
        if decision.profile_id is None:
            if not decision.attach:
                return None
            profile_id = self._next_temporary
            self._next_temporary -= 1
            self.new_profiles.append(profile_id)
        else:
            profile_id = decision.profile_id
        for source in decision.merge_from:
            moved = sorted(self.members.pop(source, set()))
            for identifier in moved:
                self.owners[identifier] = profile_id
                if identifier in self.new_links:
                    self.new_links[identifier] = profile_id
            self.members[profile_id].update(moved)
            self.merged_into[source] = profile_id
            self.merges.append(PendingMerge(source, profile_id, moved, message_id))
        for identifier in decision.attach:
            self.owners[identifier] = profile_id
            self.members[profile_id].add(identifier)
            self.new_links[identifier] = profile_id
        return profile_id
