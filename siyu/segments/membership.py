"""What the segments capability offers the rest of siyu: preview, save, refresh, real-time evaluation.

Preview and the saved segment share one compiler and one query, so "the preview said 1,204 and
the saved segment says 1,198" can only mean that people changed in between. A saved segment's
membership is materialised (``segment_members``) because journeys trigger on entering and
exiting, which needs the previous answer to compare with.

Refresh order: a segment may test membership of other saved segments, so refreshes run in
dependency order (referenced first), and saving a definition that would make a cycle is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.segments import store
from siyu.segments.dump import dump, referenced_events, referenced_segments
from siyu.segments.errors import InvalidDefinition, SegmentError
from siyu.segments.models import All, Any_, EventCondition, Node, Not, SegmentCondition
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
    return tree


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
    store.claim_cursor(conn, workspace_id, REALTIME_CURSOR, now, initial=store.last_event_id(conn, workspace_id))
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


def _dependency_order(definitions: list[tuple[int, str, Any]]) -> list[tuple[int, str, Node]]:
    trees = {s_id: (name, parse(raw)) for s_id, name, raw in definitions}
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
    changes = {}
    for s_id, name, tree in _dependency_order(store.active_definitions(conn, workspace_id)):
        if wanted is None or s_id in wanted:
            entered, exited = store.apply_membership(conn, workspace_id, (s_id, name), tree, now, timezone)
            changes[s_id] = (len(entered), len(exited))
    return changes


def evaluate_profiles(conn: Connection, workspace_id: int, profile_ids: Sequence[int], event_names: set[str],
                      now: datetime, timezone: str, *, profile_changed: bool = True) -> dict[int, tuple[int, int]]:
    """Real time: re-evaluate, for just these people, the segments their new events can change.

    A segment that reads only events (no traits, tags, rollups…) and none of ``event_names``
    cannot change and is skipped; ``profile_changed=False`` says the events changed no profile
    state. Dependants of a segment that changed are evaluated after it (dependency order).
    """
    if not profile_ids:
        return {}
    changes: dict[int, tuple[int, int]] = {}
    moved: set[int] = set()
    for s_id, name, tree in _dependency_order(store.active_definitions(conn, workspace_id)):
        reads_events = referenced_events(tree)
        if not (reads_events & event_names or (profile_changed and reads_profile_state(tree))
                or referenced_segments(tree) & moved):
            continue
        entered, exited = store.apply_membership(conn, workspace_id, (s_id, name), tree, now, timezone,
                                                 profile_ids=profile_ids)
        if entered or exited:
            changes[s_id] = (len(entered), len(exited))
            moved.add(s_id)
    return changes


def reads_profile_state(tree: Node) -> bool:
    """Anything but event conditions and segment membership reads state an event can change."""
    match tree:
        case All(nodes) | Any_(nodes):
            return any(reads_profile_state(n) for n in nodes)
        case Not(inner):
            return reads_profile_state(inner)
        case EventCondition() | SegmentCondition():
            return False
        case _:
            return True
