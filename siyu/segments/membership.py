"""What the segments capability offers the rest of siyu: preview, save, refresh, real-time evaluation.

Preview and the saved segment share one compiler and one query, so "the preview said 1,204 and
the saved segment says 1,198" can only mean that people changed in between. A saved segment's
membership is materialised (``segment_members``) because journeys trigger on entering and
exiting, which needs the previous answer to compare with.

Refresh order: a segment may test membership of other saved segments, so refreshes run in
dependency order (referenced first), and saving a definition that would make a cycle is refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection

from siyu.ingest.store import newest_event_id
from siyu.segments import realtime_store, store
from siyu.segments.dump import dump, referenced_segments, referenced_tiers
from siyu.segments.errors import InvalidDefinition, SegmentError
from siyu.segments.facets import Change, Facet, Reads, may_change, reads
from siyu.segments.models import Node
from siyu.segments.parse import parse

SAMPLE_SIZE = 20
REALTIME_CURSOR = "segments.realtime"


def checked(conn: Connection, workspace_id: int, definition: Any, *, segment_id: int | None = None) -> Node:
    """Parse, and check that referenced segments exist here and no cycle would be made."""
    tree = parse(definition)
    known = {s_id: raw for s_id, _, raw in store.active_definitions(conn, workspace_id)}
    for ref in sorted(referenced_segments(tree)):
        if ref == segment_id:
            raise InvalidDefinition(f"a segment cannot test its own membership (segment {ref})",
                                    details={"segment_id": ref, "reason": "self-reference"})
        if ref not in known:
            raise InvalidDefinition(f"segment {ref} does not exist in this workspace or is archived",
                                    details={"segment_id": ref, "reason": "unknown segment"})
    if segment_id is not None:
        _refuse_cycle(segment_id, tree, known)
    _check_tiers(conn, workspace_id, tree)
    return tree


def _check_tiers(conn: Connection, workspace_id: int, tree: Node) -> None:
    """Tier names must be on the workspace's ladder (a misspelt "金卡" would match nobody, silently)."""
    names = referenced_tiers(tree)
    if not names:
        return
    from siyu.loyalty.errors import ProgrammeMissing
    from siyu.loyalty.store import get_programme

    try:
        ladder = [tier.name for tier in get_programme(conn, workspace_id)[0].tiers]
    except ProgrammeMissing:
        ladder = []
    unknown = sorted(names - set(ladder))
    if unknown:
        known = ", ".join(ladder) if ladder else "none: this workspace has no loyalty programme yet"
        raise InvalidDefinition(f"unknown tier {unknown[0]!r}; the ladder's tiers are {known}",
                                details={"tier": unknown[0], "reason": "unknown tier", "tiers": ladder})


def _refuse_cycle(segment_id: int, tree: Node, known: dict[int, Any]) -> None:
    stack, seen = list(referenced_segments(tree)), set()
    while stack:
        current = stack.pop()
        if current == segment_id:
            raise InvalidDefinition(f"this definition would make segment {segment_id} depend on itself through "
                                    "other segments", details={"segment_id": segment_id, "reason": "cycle"})
        if current in seen or current not in known:
            continue
        seen.add(current)
        stack.extend(referenced_segments(parse(known[current])))


def preview(conn: Connection, workspace_id: int, definition: Any, now: datetime) -> dict[str, Any]:
    tree = checked(conn, workspace_id, definition)
    return {"count": store.count(conn, workspace_id, tree, now),
            "sample": store.sample(conn, workspace_id, tree, now, SAMPLE_SIZE), "definition": dump(tree)}


def save(conn: Connection, workspace_id: int, *, name: str, description: str | None, definition: Any,
         actor: str | None, now: datetime, timezone: str) -> dict[str, Any]:
    tree = checked(conn, workspace_id, definition)
    segment = store.create_segment(conn, workspace_id, name=name, description=description,
                                   definition=dump(tree), created_by=actor, now=now)
    store.apply_membership(conn, workspace_id, (segment["id"], name), tree, now, timezone)
    # The first segment starts the real-time cursor here: its members are computed up to this point of
    # the log, so the worker need not replay history (later segments find the cursor already there).
    store.claim_cursor(conn, workspace_id, REALTIME_CURSOR, now, initial=newest_event_id(conn, workspace_id))
    return store.get_segment(conn, workspace_id, segment["id"])


def change(conn: Connection, workspace_id: int, segment_id: int, changes: dict[str, Any], now: datetime,
           timezone: str) -> dict[str, Any]:
    current = store.get_segment(conn, workspace_id, segment_id)
    if current["status"] == "archived" and changes.get("status") != "active":
        raise SegmentError("This segment is archived; restore it (status active) before changing it.",
                           code="segments.archived", status=409)
    values = {k: v for k, v in changes.items() if v is not None}
    if "definition" in values:
        values["definition"] = dump(checked(conn, workspace_id, values["definition"], segment_id=segment_id))
    if values.get("status") == "archived":
        dependants = [name for s_id, name, raw in store.active_definitions(conn, workspace_id)
                      if s_id != segment_id and segment_id in referenced_segments(parse(raw))]
        if dependants:
            raise SegmentError(f"Segments {', '.join(dependants)} use this one; change them first.",
                               code="segments.in_use", status=409, details={"used_by": dependants})
    updated = store.update_segment(conn, workspace_id, segment_id, values, now)
    if updated["status"] == "active" and ("definition" in values or "status" in values):
        store.apply_membership(conn, workspace_id, (segment_id, updated["name"]), parse(updated["definition"]),
                               now, timezone)
        updated = store.get_segment(conn, workspace_id, segment_id)
    return updated


def live_count(conn: Connection, workspace_id: int, segment: dict[str, Any], now: datetime) -> int:
    return store.count(conn, workspace_id, parse(segment["definition"]), now)


@lru_cache(maxsize=4096)
def _stored_tree(canonical: str) -> tuple[Node, Reads]:
    """A stored definition parsed once per process: the worker reads every definition on every pass,
    and trees are immutable (relative dates stay relative until compiled)."""
    tree = parse(orjson.loads(canonical))
    return tree, reads(tree)


def _tree_of(raw: Any) -> tuple[Node, Reads]:
    return _stored_tree(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode())


def _dependency_order(definitions: list[tuple[int, str, Any]]) -> list[tuple[int, str, Node]]:
    trees = {s_id: (name, _tree_of(raw)[0]) for s_id, name, raw in definitions}
    ordered: list[tuple[int, str, Node]] = []
    placed: set[int] = set()

    def place(s_id: int, path: frozenset[int]) -> None:
        if s_id in placed or s_id not in trees or s_id in path:
            return
        for ref in sorted(referenced_segments(trees[s_id][1])):
            place(ref, path | {s_id})
        placed.add(s_id)
        ordered.append((s_id, *trees[s_id]))

    for s_id in sorted(trees):
        place(s_id, frozenset())
    return ordered


def refresh(conn: Connection, workspace_id: int, now: datetime, timezone: str,
            segment_ids: Iterable[int] | None = None) -> dict[int, tuple[int, int]]:
    """Time-driven refresh: catches conditions that become true with no event ("no order for 90 days")."""
    wanted = set(segment_ids) if segment_ids is not None else None
    ordered = [(s_id, name, tree) for s_id, name, tree in _dependency_order(
        store.active_definitions(conn, workspace_id)) if wanted is None or s_id in wanted]
    store.lock_segments(conn, workspace_id, [s_id for s_id, _, _ in ordered])
    changes = {}
    for s_id, name, tree in ordered:
        entered, exited = store.apply_membership(conn, workspace_id, (s_id, name), tree, now, timezone)
        changes[s_id] = (len(entered), len(exited))
    return changes


def evaluate_changes(conn: Connection, workspace_id: int, changes: Mapping[int, Change], now: datetime,
                     timezone: str) -> dict[int, tuple[int, int]]:
    """Real time: bring the stored membership of these people up to date in the segments that what
    changed about them can affect (:mod:`siyu.segments.facets`); returns (entered, exited) counts
    of the segments that moved.

    Segments are visited by depth of reference (a segment after those it tests membership of), so a
    person who entered or left one is re-evaluated in its dependants. At each depth the segments
    that need the same people are answered by one statement
    (:func:`realtime_store.members_among`) and compared with one read of the stored membership;
    the moves of a depth are written together, before the next depth reads them.
    """
    if not changes:
        return {}
    definitions = store.active_definitions(conn, workspace_id)
    read = {s_id: _tree_of(raw)[1] for s_id, _, raw in definitions}
    plans = [_Planned(s_id, name, tree, read[s_id]) for s_id, name, tree in _dependency_order(definitions)]
    pending = dict(changes)
    store.lock_segments(conn, workspace_id, _may_move(plans, pending))
    moved: dict[int, tuple[int, int]] = {}
    for depth in _depths(plans):
        decided: dict[tuple[int, str], tuple[list[int], list[int]]] = {}
        for group, people in _grouped(depth, pending):
            selected = realtime_store.members_among(conn, workspace_id, {p.id: p.tree for p in group}, people, now)
            stored = realtime_store.stored_members(conn, workspace_id, [p.id for p in group], people)
            for plan in group:
                entering, leaving = selected[plan.id] - stored[plan.id], stored[plan.id] - selected[plan.id]
                if entering or leaving:
                    decided[(plan.id, plan.name)] = (sorted(entering), sorted(leaving))
        # Written before the next depth is evaluated: its definitions read these memberships.
        for s_id, (entered, exited) in realtime_store.move_members(conn, workspace_id, decided, now,
                                                                   timezone).items():
            moved[s_id] = (len(entered), len(exited))
            for person in (*entered, *exited):
                pending[person] = pending[person] | Change(segments=frozenset({s_id}))
    return moved


@dataclass(frozen=True)
class _Planned:
    id: int
    name: str
    tree: Node
    reads: Reads


def _depths(plans: list[_Planned]) -> list[list[_Planned]]:
    """Segments grouped by depth of reference: 0 tests no other segment, n tests one of depth n - 1.
    ``plans`` is in dependency order, so every referenced segment's depth is known when needed."""
    depth: dict[int, int] = {}
    for plan in plans:
        depth[plan.id] = 1 + max((depth[ref] for ref in plan.reads.segments if ref in depth), default=-1)
    levels: list[list[_Planned]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for plan in plans:
        levels[depth[plan.id]].append(plan)
    return levels


def _grouped(plans: list[_Planned], changes: Mapping[int, Change]) -> list[tuple[list[_Planned], list[int]]]:
    """The segments to evaluate, grouped by the people they must be evaluated for.

    People share a handful of distinct changes (an order, a page view, an identify…), so the
    decision is taken once per distinct change, not once per person and segment.
    """
    sharing: dict[Change, list[int]] = defaultdict(list)
    for person, change in changes.items():
        sharing[change].append(person)
    distinct = list(sharing)
    groups: dict[tuple[int, ...], list[_Planned]] = defaultdict(list)
    for plan in plans:
        signature = tuple(i for i, change in enumerate(distinct) if may_change(plan.reads, change))
        if signature:
            groups[signature].append(plan)
    return [(group, sorted(p for i in signature for p in sharing[distinct[i]])) for signature, group in groups.items()]


def _may_move(plans: list[_Planned], changes: Mapping[int, Change]) -> list[int]:
    """Segments this pass may write: those some change can affect, and every segment that tests
    membership of one of them (its members may move because the other's did)."""
    anything = Change()
    for change in set(changes.values()):
        anything = anything | change
    found: set[int] = set()
    for plan in plans:  # dependency order: a referenced segment is decided before its dependants
        if plan.reads.segments & found or may_change(plan.reads, anything):
            found.add(plan.id)
    return sorted(found)


def evaluate_profiles(conn: Connection, workspace_id: int, profile_ids: Sequence[int], event_names: set[str],
                      now: datetime, timezone: str, *, profile_changed: bool = True) -> dict[int, tuple[int, int]]:
    """Re-evaluate these people as if they had new events of ``event_names`` and, unless
    ``profile_changed`` is false, any change to their profile state (the coarse form of
    :func:`evaluate_changes`, for callers that know no more than that)."""
    change = Change(frozenset(Facet) if profile_changed else frozenset(), frozenset(event_names))
    return evaluate_changes(conn, workspace_id, {p: change for p in profile_ids}, now, timezone)


def reads_profile_state(tree: Node) -> bool:
    """Anything but event conditions and segment membership reads state an event can change."""
    return bool(reads(tree).facets)
