"""SQL for a journey's figures: entries by cohort and status, and per step visits, people waiting
there and what became of the messages the step queued."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from siyu.db.tables import journey_entries, journey_step_visits, messages


def entry_counts(conn: Connection, workspace_id: int, journey_id: int) -> dict[tuple[str, str], int]:
    """(cohort, status) → entries."""
    rows = conn.execute(select(journey_entries.c.cohort, journey_entries.c.status, func.count()).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.journey_id == journey_id)
        .group_by(journey_entries.c.cohort, journey_entries.c.status))
    return {(cohort, status): count for cohort, status, count in rows}


def step_counts(conn: Connection, workspace_id: int, journey_id: int) -> dict[str, dict[str, Any]]:
    """Per step id (over every version): entered, completed (left), waiting there now, and the
    messages it queued by their status now."""
    found: dict[str, dict[str, Any]] = {}

    def of(step: str) -> dict[str, Any]:
        return found.setdefault(step, {"entered": 0, "completed": 0, "waiting": 0, "outcomes": {}, "messages": {}})

    visits = conn.execute(select(journey_step_visits.c.step, journey_step_visits.c.outcome, func.count(),
                                 func.count(journey_step_visits.c.left_at)).where(
        journey_step_visits.c.workspace_id == workspace_id, journey_step_visits.c.journey_id == journey_id)
        .group_by(journey_step_visits.c.step, journey_step_visits.c.outcome))
    for step, outcome, entered, left in visits:
        figures = of(step)
        figures["entered"] += entered
        figures["completed"] += left
        if outcome:
            figures["outcomes"][outcome] = figures["outcomes"].get(outcome, 0) + left
    waiting = conn.execute(select(journey_entries.c.step, func.count()).where(
        journey_entries.c.workspace_id == workspace_id, journey_entries.c.journey_id == journey_id,
        journey_entries.c.status == "waiting", journey_entries.c.step.is_not(None))
        .group_by(journey_entries.c.step))
    for step, count in waiting:
        of(step)["waiting"] = count
    sent = conn.execute(select(journey_step_visits.c.step, messages.c.status, func.count())
                        .join(messages, (messages.c.workspace_id == journey_step_visits.c.workspace_id)
                              & (messages.c.id == journey_step_visits.c.message_id))
                        .where(journey_step_visits.c.workspace_id == workspace_id,
                               journey_step_visits.c.journey_id == journey_id)
                        .group_by(journey_step_visits.c.step, messages.c.status))
    for step, status, count in sent:
        of(step)["messages"][status] = count
    return found
