"""SQL of growth tasks (SQLAlchemy Core; every query filters on ``workspace_id``): definitions,
progress per person, task and period, the rewards decided on completion, and marks.

Locking: a person's progress row is changed only after ``FOR UPDATE`` on PostgreSQL (SQLite's
``BEGIN IMMEDIATE`` excludes every other writer), so the worker's batch and a profile merge can't
both add to it from a stale read. Every completion writes its reward row under a unique
(task, person, period): whichever transaction inserts it is the one that decided the completion, and
a retried batch that reaches the same completion inserts nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import loyalty_task_marks, loyalty_task_progress, loyalty_task_rewards, loyalty_tasks
from siyu.loyalty.tasks_models import Progress, RewardStatus, Task, TaskDefinition

T, P, R = loyalty_tasks.c, loyalty_task_progress.c, loyalty_task_rewards.c


def _task(row: Any) -> Task:
    values = {**row.settings, "key": row.key, "kind": row.kind, "active": row.active,
              "starts_at": row.starts_at, "ends_at": row.ends_at}
    return Task(id=int(row.id), definition=TaskDefinition.model_validate(values), created_at=row.created_at,
                updated_at=row.updated_at)


def _columns(definition: TaskDefinition) -> dict[str, Any]:
    settings = definition.model_dump(mode="json", exclude={"key", "kind", "active", "starts_at", "ends_at"})
    return {"kind": definition.kind.value, "settings": settings, "active": definition.active,
            "starts_at": definition.starts_at, "ends_at": definition.ends_at}


def insert_task(conn: Connection, workspace_id: int, definition: TaskDefinition, now: datetime) -> int | None:
    """The new task's id, or None when the workspace already has a task with this key."""
    return conn.execute(upsert(conn, loyalty_tasks).values(
        workspace_id=workspace_id, key=definition.key, created_at=now, updated_at=now, **_columns(definition),
    ).on_conflict_do_nothing().returning(T.id)).scalar_one_or_none()


def save_task(conn: Connection, workspace_id: int, task_id: int, definition: TaskDefinition, now: datetime) -> None:
    conn.execute(update(loyalty_tasks).where(T.workspace_id == workspace_id, T.id == task_id)
                 .values(updated_at=now, **_columns(definition)))


def get_task(conn: Connection, workspace_id: int, task_id: int) -> Task | None:
    row = conn.execute(select(loyalty_tasks).where(T.workspace_id == workspace_id, T.id == task_id)).first()
    return None if row is None else _task(row)


def list_tasks(conn: Connection, workspace_id: int, *, active_only: bool = False) -> list[Task]:
    query = select(loyalty_tasks).where(T.workspace_id == workspace_id)
    if active_only:
        query = query.where(T.active.is_(True))
    return [_task(r) for r in conn.execute(query.order_by(T.id))]


def workspaces_with_tasks(conn: Connection) -> list[int]:
    """Workspaces with any task, active or not: the cursor keeps moving while every task is paused,
    so events from the pause never count when a task is switched on again."""
    # tenancy: cross-workspace by design — the worker visits every workspace with a task
    return list(conn.execute(select(T.workspace_id).distinct().order_by(T.workspace_id)).scalars())


def _progress(row: Any) -> Progress:
    return Progress(task_id=int(row.task_id), profile_id=int(row.profile_id), period=row.period,
                    progress=int(row.progress), target=int(row.target), completed_at=row.completed_at,
                    updated_at=row.updated_at)


def lock_progress(conn: Connection, workspace_id: int, task_id: int, profile_id: int, period: str, target: int,
                  now: datetime) -> Progress:
    """The person's progress row for the period (created at 0 the first time), locked."""
    conn.execute(upsert(conn, loyalty_task_progress).values(
        workspace_id=workspace_id, task_id=task_id, profile_id=profile_id, period=period, progress=0, target=target,
        updated_at=now).on_conflict_do_nothing())
    query = select(loyalty_task_progress).where(P.workspace_id == workspace_id, P.task_id == task_id,
                                                P.profile_id == profile_id, P.period == period)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return _progress(conn.execute(query).one())


ProgressKey = tuple[int, int, str]  # task, person, period


def lock_progress_many(conn: Connection, workspace_id: int, wanted: dict[ProgressKey, tuple[int, datetime]]
                       ) -> dict[ProgressKey, Progress]:
    """:func:`lock_progress` for many rows at once (``wanted``: each key's target and first step time):
    one insert and one locking read per few hundred rows instead of two statements per event."""
    if not wanted:
        return {}
    conn.execute(upsert(conn, loyalty_task_progress).on_conflict_do_nothing(), [
        {"workspace_id": workspace_id, "task_id": task_id, "profile_id": profile_id, "period": period,
         "progress": 0, "target": target, "updated_at": at}
        for (task_id, profile_id, period), (target, at) in sorted(wanted.items())])
    found: dict[ProgressKey, Progress] = {}
    people = sorted({profile_id for _, profile_id, _ in wanted})
    tasks = sorted({task_id for task_id, _, _ in wanted})
    for start in range(0, len(people), 500):
        query = select(loyalty_task_progress).where(
            P.workspace_id == workspace_id, P.task_id.in_(tasks), P.profile_id.in_(people[start:start + 500]),
            P.period.in_(sorted({period for _, _, period in wanted}))).order_by(P.task_id, P.profile_id, P.period)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        for row in conn.execute(query):
            key = (int(row.task_id), int(row.profile_id), row.period)
            if key in wanted:
                found[key] = _progress(row)
    return found


def set_progress_many(conn: Connection, workspace_id: int, changed: list[Progress]) -> None:
    """Write back progress rows changed in memory (locked by :func:`lock_progress_many`)."""
    if not changed:
        return
    conn.execute(update(loyalty_task_progress).where(
        P.workspace_id == bindparam("w"), P.task_id == bindparam("t"), P.profile_id == bindparam("p"),
        P.period == bindparam("d")).values(progress=bindparam("n"), target=bindparam("g"),
                                           updated_at=bindparam("u"), completed_at=bindparam("c")), [
        {"w": workspace_id, "t": row.task_id, "p": row.profile_id, "d": row.period, "n": row.progress,
         "g": row.target, "u": row.updated_at, "c": row.completed_at} for row in changed])


def set_progress(conn: Connection, workspace_id: int, task_id: int, profile_id: int, period: str, *,
                 progress: int, target: int, now: datetime, completed_at: datetime | None = None) -> None:
    values: dict[str, Any] = {"progress": progress, "target": target, "updated_at": now}
    if completed_at is not None:
        values["completed_at"] = completed_at
    conn.execute(update(loyalty_task_progress).where(
        P.workspace_id == workspace_id, P.task_id == task_id, P.profile_id == profile_id, P.period == period)
        .values(**values))


def progress_of(conn: Connection, workspace_id: int, profile_id: int, *, task_id: int | None = None,
                period: str | None = None) -> list[Progress]:
    """A person's progress rows (of one task, one period), newest period first."""
    query = select(loyalty_task_progress).where(P.workspace_id == workspace_id, P.profile_id == profile_id)
    if task_id is not None:
        query = query.where(P.task_id == task_id)
    if period is not None:
        query = query.where(P.period == period)
    return [_progress(r) for r in conn.execute(query.order_by(P.task_id, P.updated_at.desc(), P.period.desc()))]


def progress_of_task(conn: Connection, workspace_id: int, task_id: int, *, limit: int = 100,
                     completed_only: bool = False) -> list[Progress]:
    query = select(loyalty_task_progress).where(P.workspace_id == workspace_id, P.task_id == task_id)
    if completed_only:
        query = query.where(P.completed_at.is_not(None))
    return [_progress(r) for r in conn.execute(query.order_by(P.updated_at.desc(), P.profile_id).limit(limit))]


def completion_counts(conn: Connection, workspace_id: int) -> dict[int, tuple[int, int]]:
    """Per task: (people with progress, completions) over all periods."""
    rows = conn.execute(select(P.task_id, func.count(func.distinct(P.profile_id)),
                               func.count(P.completed_at)).where(P.workspace_id == workspace_id)
                        .group_by(P.task_id))
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def insert_reward(conn: Connection, workspace_id: int, task: Task, profile_id: int, period: str, key: str,
                  now: datetime) -> int | None:
    """The completion's reward decided (pending), or None when this completion already has one."""
    return conn.execute(upsert(conn, loyalty_task_rewards).values(
        workspace_id=workspace_id, task_id=task.id, profile_id=profile_id, period=period, reward_key=key,
        points=task.definition.points, offer_id=task.definition.offer_id, status=RewardStatus.PENDING.value,
        created_at=now).on_conflict_do_nothing().returning(R.id)).scalar_one_or_none()


def pending_rewards(conn: Connection, workspace_id: int, limit: int) -> list[int]:
    return list(conn.execute(select(R.id).where(R.workspace_id == workspace_id,
                                                R.status == RewardStatus.PENDING.value)
                             .order_by(R.id).limit(limit)).scalars())


def claim_reward(conn: Connection, workspace_id: int, reward_id: int, now: datetime) -> Any | None:
    """Move a pending reward to delivered — the first statement of the delivering transaction, so a
    second worker waits on the row (PostgreSQL) and then finds it delivered: None. The move commits
    with what delivery writes, or rolls back with it and stays pending."""
    return conn.execute(update(loyalty_task_rewards).where(
        R.workspace_id == workspace_id, R.id == reward_id, R.status == RewardStatus.PENDING.value)
        .values(status=RewardStatus.DELIVERED.value, delivered_at=now).returning(loyalty_task_rewards)).first()


def count_rewards(conn: Connection, workspace_id: int, status: RewardStatus) -> int:
    return int(conn.execute(select(func.count()).select_from(loyalty_task_rewards).where(
        R.workspace_id == workspace_id, R.status == status.value)).scalar_one())


def note_reward(conn: Connection, workspace_id: int, reward_id: int, **values: Any) -> None:
    conn.execute(update(loyalty_task_rewards).where(R.workspace_id == workspace_id, R.id == reward_id)
                 .values(**values))


def rewards_of(conn: Connection, workspace_id: int, profile_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(loyalty_task_rewards).where(R.workspace_id == workspace_id,
                                                           R.profile_id == profile_id).order_by(R.id))
    return [{k: getattr(r, k) for k in ("id", "task_id", "period", "reward_key", "points", "offer_id", "status",
                                        "claim_id", "points_error", "offer_error", "created_at", "delivered_at")}
            for r in rows]


def insert_mark(conn: Connection, workspace_id: int, mark: str, task_id: int, profile_id: int,
                now: datetime) -> bool:
    """True the first time ``mark`` is written; False when it was already (nothing counts twice)."""
    return conn.execute(upsert(conn, loyalty_task_marks).values(
        workspace_id=workspace_id, mark=mark[:200], task_id=task_id, profile_id=profile_id, created_at=now)
        .on_conflict_do_nothing().returning(loyalty_task_marks.c.mark)).first() is not None


def mark_owner(conn: Connection, workspace_id: int, mark: str) -> tuple[int, int] | None:
    row = conn.execute(select(loyalty_task_marks.c.task_id, loyalty_task_marks.c.profile_id).where(
        loyalty_task_marks.c.workspace_id == workspace_id, loyalty_task_marks.c.mark == mark[:200])).first()
    return None if row is None else (int(row.task_id), int(row.profile_id))


def credited_invites_since(conn: Connection, workspace_id: int, since: datetime, limit: int) -> list[Any]:
    """Invites credited in growth campaigns at or after ``since`` (credit id, the inviter's profile,
    credited_at), oldest first. A read-only look at siyu.growth's credits: growth exposes no query
    by crediting time, and tasks only count them (each once, by a mark)."""
    from siyu.db.tables import campaign_credits, campaign_participants

    C, CP = campaign_credits.c, campaign_participants.c
    return list(conn.execute(
        select(C.id, CP.profile_id, C.credited_at)
        .select_from(campaign_credits.join(campaign_participants, and_(
            CP.workspace_id == C.workspace_id, CP.id == C.participant_id)))
        .where(C.workspace_id == workspace_id, C.kind == "invite", C.status == "credited",
               C.credited_at.is_not(None), C.credited_at >= since)
        .order_by(C.credited_at, C.id).limit(limit)).all())


def fold_task_progress(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """A merge's share of tasks (called from siyu.profiles.store): the merged-away person's progress
    adds into the survivor's (siyu.loyalty.tasks_rules.merged), a period either completed stays
    completed (the earlier completion time), and their reward rows move to the survivor where the
    survivor has none for that period — so a completion is rewarded once, whoever earned it. Two
    partial progresses that reach the target together complete the survivor's period, and the worker
    delivers its reward (a pending row written here)."""
    from siyu.loyalty import tasks_rules

    theirs = progress_of(conn, workspace_id, from_id)
    if not theirs:
        return
    tasks = {t.id: t for t in list_tasks(conn, workspace_id)}
    for row in theirs:
        task = tasks.get(row.task_id)
        if task is None:
            continue
        mine = lock_progress(conn, workspace_id, row.task_id, into_id, row.period, row.target, at)
        target = max(mine.target, row.target)
        value = tasks_rules.merged(task.definition.kind, mine.progress, row.progress, target)
        done = [t for t in (mine.completed_at, row.completed_at) if t is not None]
        completed_at = min(done) if done else (at if value >= target else None)
        set_progress(conn, workspace_id, row.task_id, into_id, row.period, progress=value, target=target, now=at,
                     completed_at=completed_at)
        survivors = loyalty_task_rewards.alias("survivor_rewards")
        moved = conn.execute(update(loyalty_task_rewards).where(
            R.workspace_id == workspace_id, R.task_id == row.task_id, R.profile_id == from_id,
            R.period == row.period, ~select(survivors.c.id).where(
                survivors.c.workspace_id == workspace_id, survivors.c.task_id == row.task_id,
                survivors.c.profile_id == into_id, survivors.c.period == row.period).exists())
            .values(profile_id=into_id)).rowcount
        if completed_at is not None and not done and not moved:
            insert_reward(conn, workspace_id, task, into_id, row.period,
                          tasks_rules.reward_key(task.id, row.period, into_id), at)
    conn.execute(delete(loyalty_task_progress).where(P.workspace_id == workspace_id, P.profile_id == from_id))


def live_traits(conn: Connection, workspace_id: int, profile_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The traits of each profile (its survivor's, when merged away; {} when there is none) in a few
    reads: ``profile_complete`` tasks look at every identify in the log, one profile read each was most
    of a demo's time."""
    from siyu.db.tables import profiles
    from siyu.profiles.errors import ProfileNotFound
    from siyu.profiles.read_store import resolve_profile_id

    found: dict[int, dict[str, Any]] = {profile_id: {} for profile_id in profile_ids}
    ids = sorted(profile_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(profiles.c.id, profiles.c.merged_into, profiles.c.traits).where(
            profiles.c.workspace_id == workspace_id, profiles.c.id.in_(ids[start:start + 500]))).all()
        for row in rows:
            if row.merged_into is None:
                found[int(row.id)] = dict(row.traits or {})
                continue
            try:  # merged away (rare): its survivor's traits
                survivor = resolve_profile_id(conn, workspace_id, int(row.id))
            except ProfileNotFound:
                continue
            traits = conn.execute(select(profiles.c.traits).where(
                profiles.c.workspace_id == workspace_id, profiles.c.id == survivor)).scalar_one_or_none()
            found[int(row.id)] = dict(traits or {})
    return found
