"""Tables: growth tasks (成长任务, issue 7 part 3) — the task definitions, each person's progress per
task and period, the rewards decided on completion, and the marks that make counted things count once."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# A task: ``settings`` holds the rest of the checked definition (event, filter, traits, source,
# target, repeat, points, offer) as siyu.loyalty.tasks_models.TaskDefinition dumps it.
loyalty_tasks = Table(
    "loyalty_tasks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("settings", JSONType, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("starts_at", Timestamp, nullable=True),
    Column("ends_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "key", name="uq_loyalty_tasks_key"),
)

# One person's progress on one task in one period (``once``, ``d2026-12-01``, ``w…``, ``m2026-12``).
# ``completed_at`` set once, in the transaction that writes the completion's reward row.
loyalty_task_progress = Table(
    "loyalty_task_progress",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("task_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("target", Integer, nullable=False),
    Column("completed_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "task_id", "profile_id", "period", name="uq_loyalty_task_progress"),
    Index("ix_loyalty_task_progress_profile", "workspace_id", "profile_id"),
    Index("ix_loyalty_task_progress_done", "workspace_id", "task_id", "completed_at"),
)

# A completion's reward, decided before anything is granted (unique per task, period and person):
# status pending → delivered. Delivery credits ``points`` under the completion's key, writes the
# Task Completed event and claims ``offer_id`` under the same key (``claim_id`` or ``offer_error``).
loyalty_task_rewards = Table(
    "loyalty_task_rewards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("task_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("reward_key", String(120), nullable=False),
    Column("points", Integer, nullable=False),
    Column("offer_id", BigInteger, nullable=True),
    Column("status", String(16), nullable=False),
    Column("claim_id", BigInteger, nullable=True),
    Column("points_error", String(64), nullable=True),
    Column("offer_error", String(64), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "task_id", "profile_id", "period", name="uq_loyalty_task_rewards"),
    Index("ix_loyalty_task_rewards_status", "workspace_id", "status"),
)

# Things that must count once: an operator's attendance mark (``attend:<idempotency key>``) and a
# campaign's credited invite counted for a task (``credit:<credit id>:<task id>``).
loyalty_task_marks = Table(
    "loyalty_task_marks",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("mark", String(200), nullable=False),
    Column("task_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "mark", name="uq_loyalty_task_marks"),
)
