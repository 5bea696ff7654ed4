"""The worker's step for growth tasks, every pass and every workspace with a task, in three
stages, each its own write transaction:

1. **Follow the event log** (cursor ``loyalty.tasks``, claimed ``FOR UPDATE`` in the batch's
   transaction, like :mod:`siyu.loyalty.follow`): each event that counts for a task adds to the
   person's progress in the event's period. A completion writes the decision — the progress row's
   ``completed_at`` and a pending reward row unique on (task, person, period) — in the same
   transaction that moves the cursor: a crashed batch repeats whole and decides nothing twice.
2. **Count credited invites** in growth campaigns for ``invite_friends`` tasks (cursor
   ``loyalty.tasks.invites``, its position the credit time in milliseconds); each credit counts
   once per task through a mark.
3. **Deliver** each pending reward in its own transaction: move it to delivered (the row lock keeps
   a second worker out), credit its points under the completion's key, write ``Task Completed``
   (source ``loyalty``, property ``task``: loyalty's growth and ``Earning.tasks`` rules and journeys
   see it), then claim its offer under the same key. A failure rolls all of that back and leaves the
   reward pending for the next pass; the keys make a repeat grant nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from siyu import clock
from siyu.db.engine import read, write
from siyu.ingest.store import newest_event_id
from siyu.loyalty import store, tasks_rules, tasks_store
from siyu.loyalty.models import EVENT_SOURCE, TASK_COMPLETED
from siyu.loyalty.tasks_models import InviteSource, Task, TaskKind
from siyu.runtime import Runtime
from siyu.segments import store as cursor_store

log = logging.getLogger("siyu.loyalty.tasks")

CURSOR = "loyalty.tasks"
INVITES_CURSOR = "loyalty.tasks.invites"
BATCH = 500
TRAIT_EVENTS = ("identify", "Traits Changed")  # what can change a profile's traits


def run_due(rt: Runtime, workspaces: list) -> dict[str, int]:  # noqa: ANN001 - Workspace rows
    with read(rt.engine) as conn:
        with_tasks = set(tasks_store.workspaces_with_tasks(conn))
    done = {"task_events": 0, "task_invites": 0, "task_rewards": 0}
    for workspace in workspaces:
        if workspace.id in with_tasks:
            now = clock.now()
            done["task_events"] += follow_log(rt.engine, workspace.id, workspace.timezone, now)
            done["task_invites"] += count_invites(rt.engine, workspace.id, workspace.timezone, now)
            done["task_rewards"] += deliver_rewards(rt.engine, workspace.id, now)
    return done


def run_workspace(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> dict[str, int]:
    """All three stages for one workspace now (the API's and the CLI's ``run``)."""
    return {"events": follow_log(engine, workspace_id, timezone, now),
            "invites": count_invites(engine, workspace_id, timezone, now),
            "rewards": deliver_rewards(engine, workspace_id, now)}


def follow_log(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> int:
    with read(engine) as conn:
        position = store.cursor_position(conn, workspace_id, CURSOR)
        if position is not None and position >= newest_event_id(conn, workspace_id):
            return 0  # nothing new: no write transaction
    looked_total = 0
    while True:
        with write(engine) as conn:
            looked = follow_batch(conn, workspace_id, timezone, now)
        looked_total += looked
        if looked < BATCH:
            return looked_total


def follow_batch(conn: Connection, workspace_id: int, timezone: str, now: datetime) -> int:
    """One batch of the log; returns how many events were looked at."""
    position = cursor_store.claim_cursor(conn, workspace_id, CURSOR, now)
    tasks = tasks_store.list_tasks(conn, workspace_id, active_only=True)
    rows, last, looked = store.events_after(conn, workspace_id, position, BATCH, counted_names(tasks))
    traits = _traits(conn, workspace_id, tasks, rows)
    steps = []
    for row in rows:
        at = min(row.timestamp, now)
        for task in tasks:
            if not task.live_at(at):
                continue
            value = _value(task, row, traits)
            if value is not None:
                steps.append(Advance(task, int(row.profile_id), value, at))
    advance_many(conn, workspace_id, steps, timezone)
    if looked:
        cursor_store.advance_cursor(conn, workspace_id, CURSOR, last, now)
    return looked


def counted_names(tasks: list[Task]) -> set[str]:
    """The event names any of the tasks counts: only those events are read from the log."""
    names = {name for task in tasks if (name := task.definition.counted_event()) is not None}
    if any(task.definition.kind is TaskKind.PROFILE_COMPLETE for task in tasks):
        names.update(TRAIT_EVENTS)
    return names


def _traits(conn: Connection, workspace_id: int, tasks: list[Task], rows: list[Any]) -> dict[int, dict[str, Any]]:
    """Current traits of the batch's people whose traits may have changed, for profile_complete tasks."""
    if not any(task.definition.kind is TaskKind.PROFILE_COMPLETE for task in tasks):
        return {}
    return tasks_store.live_traits(conn, workspace_id, {int(r.profile_id) for r in rows if r.name in TRAIT_EVENTS})


def _value(task: Task, row: Any, traits: dict[int, dict[str, Any]]) -> int | None:
    """What the event brings to the task: 1 (one more), the traits now filled (profile_complete), or None.
    An event naming no stored profile has no traits: nothing filled, not a stuck cursor."""
    definition = task.definition
    if definition.kind is TaskKind.PROFILE_COMPLETE:
        if row.name not in TRAIT_EVENTS:
            return None
        return tasks_rules.profile_progress(definition.traits, traits.get(int(row.profile_id), {}))
    return 1 if tasks_rules.counts(definition, row.name, row.properties, task.key) else None


@dataclass(frozen=True)
class Advance:
    """One event's step for one task and person, at the event's time."""
    task: Task
    profile_id: int
    value: int
    at: datetime


def advance(conn: Connection, workspace_id: int, task: Task, profile_id: int, value: int, at: datetime,
            timezone: str) -> bool:
    """Add a step to the person's progress in ``at``'s period; True when this step completed the task."""
    return advance_many(conn, workspace_id, [Advance(task, profile_id, value, at)], timezone) == 1


def advance_many(conn: Connection, workspace_id: int, steps: list[Advance], timezone: str) -> int:
    """Add the steps, in order, to the people's progress in each step's period; on a completion write the
    decision (the progress row's completion and a pending reward). The rows are locked and written a
    batch at a time: a step at a time took three statements per counted event. Returns how many
    steps completed a task."""
    steps = [s for s in steps if s.value > 0]  # nothing filled yet: no row, so "people with progress"
    if not steps:                              # counts only real progress
        return 0
    periods = [tasks_rules.period_of(s.task.definition.repeat, s.at, timezone) for s in steps]
    wanted: dict[tasks_store.ProgressKey, tuple[int, datetime]] = {}
    for s, period in zip(steps, periods, strict=True):
        wanted.setdefault((s.task.id, s.profile_id, period), (s.task.definition.target, s.at))
    current = tasks_store.lock_progress_many(conn, workspace_id, wanted)
    changed: set[tasks_store.ProgressKey] = set()
    completions = 0
    for s, period in zip(steps, periods, strict=True):
        key = (s.task.id, s.profile_id, period)
        row = current[key]
        definition = s.task.definition
        target = row.target if row.completed else definition.target
        decided = tasks_rules.step(definition.kind, row.progress, target, row.completed, s.value)
        if decided.progress == row.progress and not decided.completes:
            continue
        current[key] = replace(row, progress=decided.progress, target=target, updated_at=s.at,
                               completed_at=s.at if decided.completes else row.completed_at)
        changed.add(key)
        if decided.completes:
            completions += 1
            tasks_store.insert_reward(conn, workspace_id, s.task, s.profile_id, period,
                                      tasks_rules.reward_key(s.task.id, period, s.profile_id), s.at)
    tasks_store.set_progress_many(conn, workspace_id, [current[key] for key in sorted(changed)])
    return completions


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def count_invites(engine: Engine, workspace_id: int, timezone: str, now: datetime) -> int:
    """Credited invites (siyu.growth campaigns) for invite_friends tasks counting them; returns how
    many credits were looked at. Credits at the cursor's millisecond are looked at again next pass
    (``>=``): their marks make them count once."""
    with read(engine) as conn:
        tasks = [t for t in tasks_store.list_tasks(conn, workspace_id, active_only=True)
                 if t.definition.kind is TaskKind.INVITE_FRIENDS and t.definition.counted_event() is None
                 and t.definition.source is InviteSource.CAMPAIGNS]
    if not tasks:
        return 0
    with write(engine) as conn:
        position = cursor_store.claim_cursor(conn, workspace_id, INVITES_CURSOR, now)
        since = datetime.fromtimestamp(position / 1000, tz=UTC)
        credits = tasks_store.credited_invites_since(conn, workspace_id, since, BATCH)
        for credit in credits:
            at = min(credit.credited_at, now)
            for task in tasks:
                if task.live_at(at) and tasks_store.insert_mark(conn, workspace_id, f"credit:{credit.id}:{task.id}",
                                                                task.id, int(credit.profile_id), now):
                    advance(conn, workspace_id, task, int(credit.profile_id), 1, at, timezone)
        if credits:
            cursor_store.advance_cursor(conn, workspace_id, INVITES_CURSOR, _millis(credits[-1].credited_at), now)
    return len(credits)


def deliver_rewards(engine: Engine, workspace_id: int, now: datetime, limit: int = 500) -> int:
    with read(engine) as conn:
        pending = tasks_store.pending_rewards(conn, workspace_id, limit)
    delivered = 0
    for reward_id in pending:
        with write(engine) as conn:
            delivered += deliver_reward(conn, workspace_id, reward_id, now)
    return delivered


def deliver_reward(conn: Connection, workspace_id: int, reward_id: int, now: datetime) -> bool:
    """Grant one decided reward (see the module's docstring for the order and why it is safe to repeat)."""
    reward = tasks_store.claim_reward(conn, workspace_id, reward_id, now)
    if reward is None:
        return False  # delivered by another worker meanwhile
    task = tasks_store.get_task(conn, workspace_id, int(reward.task_id))
    assert task is not None  # tasks are deactivated, never deleted
    from siyu.profiles.errors import ProfileNotFound
    from siyu.profiles.read_store import append_profile_events, resolve_profile_id

    try:  # merged away since the decision: the survivor gets it
        profile_id = resolve_profile_id(conn, workspace_id, int(reward.profile_id))
    except ProfileNotFound:
        profile_id = int(reward.profile_id)  # an event's person without a profile row: kept as decided
    if reward.points:
        _credit_points(conn, workspace_id, task, reward, profile_id, now)
    append_profile_events(conn, workspace_id, [(profile_id, TASK_COMPLETED, {
        "task": task.key, "task_id": task.id, "period": reward.period, "points": int(reward.points),
        "offer_id": reward.offer_id})], EVENT_SOURCE, now)
    if reward.offer_id is not None:
        _claim_offer(conn, workspace_id, task, reward, profile_id, now)
    return True


def _credit_points(conn: Connection, workspace_id: int, task: Task, reward: Any, profile_id: int,
                   now: datetime) -> None:
    from siyu.loyalty import points
    from siyu.loyalty.errors import ProgrammeMissing
    from siyu.workspaces import store as workspace_store

    try:
        programme, _, _ = store.get_programme(conn, workspace_id)
    except ProgrammeMissing as error:
        log.info("workspace %s: task %s points not credited to %s: %s", workspace_id, task.key, profile_id,
                 error.code)
        tasks_store.note_reward(conn, workspace_id, int(reward.id), points_error=error.code)
        return
    timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    points.earn(conn, workspace_id, profile_id, int(reward.points), key=reward.reward_key, reason=f"task:{task.key}",
                now=now, expiry=programme.expiry, timezone=timezone,
                details={"task_id": task.id, "period": reward.period})


def _claim_offer(conn: Connection, workspace_id: int, task: Task, reward: Any, profile_id: int,
                 now: datetime) -> None:
    """A refusal (out of stock, limit, ended) is the offer's answer, kept on the reward; the
    completion and its points stand."""
    from siyu.offers.errors import OffersError
    from siyu.offers.service import claim_offer

    try:
        claim = claim_offer(conn, workspace_id, int(reward.offer_id), profile_id=profile_id,
                            idempotency_key=reward.reward_key, now=now, channel="loyalty")
    except OffersError as error:
        log.info("workspace %s: task %s offer %s refused for %s: %s", workspace_id, task.key, reward.offer_id,
                 profile_id, error.code)
        tasks_store.note_reward(conn, workspace_id, int(reward.id), offer_error=error.code[:64])
        return
    tasks_store.note_reward(conn, workspace_id, int(reward.id), claim_id=claim.id)
