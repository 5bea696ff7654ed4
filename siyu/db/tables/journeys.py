"""Tables: journeys (issue 4)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- journeys (issue 4) ---------------------------------------------------------------------------

# A journey (营销自动化): a draft being edited and, once published, numbered immutable versions. New
# entries take the latest version; people already inside stay on the version they entered.
journeys = Table(
    "journeys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(2000), nullable=True),
    Column("status", String(16), nullable=False),  # JourneyStatus: draft | live | paused | archived
    Column("draft", JSONType, nullable=False),  # the definition being edited
    Column("version", Integer, nullable=False, server_default="0"),  # latest published version; 0: none yet
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("published_at", Timestamp, nullable=True),
    Index("ix_journeys_ws_status", "workspace_id", "status"),
)

# ``after_event_id``: the last event of the log when the version was published; event triggers
# only take later events, so publishing never replays history into a journey.
journey_versions = Table(
    "journey_versions",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("journey_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSONType, nullable=False),
    Column("after_event_id", BigInteger, nullable=False, server_default="0"),
    Column("published_by", String(200), nullable=True),
    Column("published_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "journey_id", "version"),
)

# One person's way through one version of a journey: the durable state the worker advances. Unique
# on the trigger's key (``event:<id>``, ``api:<key>``, ``schedule:<time>:<person>``, ...) so a
# replayed trigger enters nobody twice.
journey_entries = Table(
    "journey_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("journey_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("entry_key", String(200), nullable=False),
    Column("cohort", String(16), nullable=False),  # Cohort: treatment | holdout
    Column("status", String(16), nullable=False),  # EntryStatus: active | waiting | completed | exited | converted
    Column("step", String(64), nullable=True),  # the step to run (active) or being waited in (waiting)
    Column("step_started_at", Timestamp, nullable=True),
    Column("due_at", Timestamp, nullable=True),  # when the worker should take it up next
    Column("woken_by", BigInteger, nullable=True),  # the event that ended a wait-for-event step
    Column("attempts", Integer, nullable=False, server_default="0"),  # failed advances in a row
    Column("after_event_id", BigInteger, nullable=False, server_default="0"),  # goals count later events only
    Column("context", JSONType, nullable=True),  # the triggering event or API call: name, properties
    Column("entered_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Column("converted_at", Timestamp, nullable=True),
    Column("exit_reason", String(64), nullable=True),
    UniqueConstraint("workspace_id", "journey_id", "entry_key", name="uq_journey_entries_key"),
    Index("ix_journey_entries_due", "status", "due_at"),
    Index("ix_journey_entries_profile", "workspace_id", "profile_id", "journey_id"),
    Index("ix_journey_entries_journey", "workspace_id", "journey_id", "status"),
)

# Which steps each entry went through, when, and with what outcome (sent, branch taken, reward
# unavailable, ...): the per-step figures, and the message a send step queued.
journey_step_visits = Table(
    "journey_step_visits",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("journey_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("step", String(64), nullable=False),
    Column("seq", Integer, nullable=False),  # 1 for the entry's first step, 2 for the next, ...
    Column("entered_at", Timestamp, nullable=False),
    Column("left_at", Timestamp, nullable=True),
    Column("outcome", String(64), nullable=True),
    Column("message_id", BigInteger, nullable=True),
    PrimaryKeyConstraint("workspace_id", "entry_id", "step"),
    Index("ix_journey_step_visits_journey", "workspace_id", "journey_id", "step"),
)

# SOP-style work for staff: whom to contact, about what, by when. Journeys create them; later issues
# add assignment and the staff console. ``source_key`` makes creation idempotent.
staff_tasks = Table(
    "staff_tasks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("title", String(200), nullable=False),
    Column("note", String(2000), nullable=True),
    Column("due_at", Timestamp, nullable=True),
    Column("status", String(16), nullable=False),  # TaskStatus: open | done | skipped
    Column("source", String(64), nullable=False),  # journey:<id> | ...
    Column("source_key", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "source_key", name="uq_staff_tasks_key"),
    Index("ix_staff_tasks_ws_status", "workspace_id", "status", "due_at"),
)
