"""Every table of the operational store, in one MetaData so Alembic sees the whole schema.

Rules that hold for every table: a ``workspace_id`` column (one workspace is one brand, and
every query filters on it); timestamps as :class:`~siyu.db.types.Timestamp`; states as short
strings named in the capability's enum, never magic integers. Only a capability's ``store.py``
reads or writes its tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from siyu.db.types import JSONType, Timestamp

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT that is still SQLite's rowid alias (SQLite only auto-increments "INTEGER PRIMARY KEY").
BigId = BigInteger().with_variant(Integer(), "sqlite")

# --- workspaces and access -------------------------------------------------------------------

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="Asia/Shanghai"),
    Column("default_region", String(2), nullable=False, server_default="CN"),
    Column("settings", JSONType, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # KeyKind: write | secret
    Column("role", String(16), nullable=True),  # Role for secret keys; NULL for write keys
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("locale", String(16), nullable=True),  # NULL: follow Accept-Language
    Column("created_at", Timestamp, nullable=False),
)

workspace_members = Table(
    "workspace_members",
    metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "user_id"),
)

# --- the event log ---------------------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=True),
    Column("message_id", String(128), nullable=False),
    Column("type", String(16), nullable=False),  # track | identify | page | screen | alias | group
    Column("name", String(200), nullable=False),  # the track event name, else the type
    Column("anonymous_id", String(200), nullable=True),
    Column("user_id", String(200), nullable=True),
    Column("timestamp", Timestamp, nullable=False),  # event time, clock-skew corrected
    Column("sent_at", Timestamp, nullable=True),
    Column("received_at", Timestamp, nullable=False),
    Column("source", String(64), nullable=False),
    Column("properties", JSONType, nullable=True),
    Column("traits", JSONType, nullable=True),
    Column("context", JSONType, nullable=True),
    Index("ix_events_profile_time", "workspace_id", "profile_id", "timestamp"),
    Index("ix_events_time", "workspace_id", "timestamp"),
    Index("ix_events_name_time", "workspace_id", "name", "timestamp"),
    # No index on message_id: deduplication lives in event_dedupe (bounded by its window), and a
    # random-key index over the whole log is what makes inserts slow down as history grows.
)

# Deduplication keys, bounded by a time window instead of a unique index over the whole log:
# a random-key index grows with history and slows every insert (see shared/MEASURED.md), while
# this table holds only the window (Segment keeps ~24 h, RudderStack 7 days; we default to 7).
# Rows with expires_at NULL are kept for ever: imports use them so re-importing a file a year
# later still changes nothing.
event_dedupe = Table(
    "event_dedupe",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("event_id", BigInteger, nullable=True),
    Column("expires_at", Timestamp, nullable=True, index=True),
    PrimaryKeyConstraint("workspace_id", "message_id"),
)

# --- profiles and identity -------------------------------------------------------------------

profiles = Table(
    "profiles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("merged_into", BigInteger, nullable=True),  # set when this profile was merged away
    Column("erased_at", Timestamp, nullable=True),  # PIPL / GDPR erasure tombstone
    Column("traits", JSONType, nullable=False),
    Column("trait_meta", JSONType, nullable=False),  # {key: {"type", "updated_at", "source"}}
    Column("first_seen_at", Timestamp, nullable=True),
    Column("last_seen_at", Timestamp, nullable=True),
    Column("event_count", Integer, nullable=False, server_default="0"),
    Column("order_count", Integer, nullable=False, server_default="0"),
    Column("total_spend", Float, nullable=False, server_default="0"),
    Column("first_order_at", Timestamp, nullable=True),
    Column("last_order_at", Timestamp, nullable=True),
    Column("first_channel", String(100), nullable=True),
    Column("last_channel", String(100), nullable=True),
    Index("ix_profiles_ws_created", "workspace_id", "created_at"),
    Index("ix_profiles_ws_last_seen", "workspace_id", "last_seen_at"),
    Index("ix_profiles_ws_first_channel", "workspace_id", "first_channel"),
)

identities = Table(
    "identities",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("type", String(100), nullable=False),  # user_id, phone, wechat_openid:wx123, ...
    Column("value", String(320), nullable=False),  # normalised (E.164 phone, lower-case email)
    Column("profile_id", BigInteger, nullable=False),
    Column("first_seen_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("source", String(64), nullable=False),
    PrimaryKeyConstraint("workspace_id", "type", "value"),
    Index("ix_identities_profile", "workspace_id", "profile_id"),
)

# A random token per workspace, replaced by every change to its identities (links, re-points,
# deletions). Processes that cache identifier owners compare it under the graph lock: equal means
# nothing changed since they cached (random, not a counter, so a rolled-back change can't be
# mistaken for a later committed one).
identity_versions = Table(
    "identity_versions",
    metadata,
    Column("workspace_id", Integer, primary_key=True, autoincrement=False),
    Column("token", BigInteger, nullable=False),
)

profile_merges = Table(
    "profile_merges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("from_profile_id", BigInteger, nullable=False),
    Column("into_profile_id", BigInteger, nullable=False),
    Column("identities", JSONType, nullable=False),  # identifiers moved, [{"type", "value"}]
    Column("message_id", String(128), nullable=True),  # the event that caused it, if any
    Column("reason", String(64), nullable=False),  # MergeReason: event | alias | manual
    Column("actor", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_profile_merges_from", "workspace_id", "from_profile_id"),
    Index("ix_profile_merges_into", "workspace_id", "into_profile_id"),
)

identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", String(128), nullable=True),
    Column("identifier_type", String(100), nullable=False),
    Column("identifier_value", String(320), nullable=False),
    Column("profile_ids", JSONType, nullable=False),
    Column("rule", String(64), nullable=False),  # which limit refused the merge
    Column("detail", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_identity_conflicts_ws_time", "workspace_id", "created_at"),
)

profile_event_counts = Table(
    "profile_event_counts",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_at", Timestamp, nullable=False),
    Column("last_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "name"),
)

# --- tags and consent -------------------------------------------------------------------------

tag_groups = Table(
    "tag_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),  # TagGroupKind: identity | business
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("group_id", Integer, ForeignKey("tag_groups.id"), nullable=True),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

profile_tags = Table(
    "profile_tags",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("tag_id", Integer, nullable=False),
    Column("source", String(64), nullable=False),  # manual | bulk | import | rule:<id> | api
    Column("added_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "tag_id"),
    Index("ix_profile_tags_tag", "workspace_id", "tag_id"),
)

consents = Table(
    "consents",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),  # wechat | wecom | sms | email | webhook | any
    Column("purpose", String(16), nullable=False),  # marketing | transactional
    Column("status", String(16), nullable=False),  # granted | revoked
    Column("source", String(64), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id", "channel", "purpose"),
)

# --- imports and erasure ------------------------------------------------------------------------

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # customers | orders
    Column("filename", String(500), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("preset", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # ImportStatus: running | done | failed
    Column("rows_total", Integer, nullable=False, server_default="0"),
    Column("rows_ok", Integer, nullable=False, server_default="0"),
    Column("rows_duplicate", Integer, nullable=False, server_default="0"),
    Column("rows_failed", Integer, nullable=False, server_default="0"),
    Column("error_report", String(500), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Index("ix_imports_ws_created", "workspace_id", "created_at"),
)

erasures = Table(
    "erasures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("identities_removed", Integer, nullable=False),
    Column("events_scrubbed", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# --- segments, scores and customer value (issue 3) --------------------------------------------

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("definition", JSONType, nullable=False),  # the segment language, see docs/segments.md
    Column("status", String(16), nullable=False),  # SegmentStatus: active | archived
    Column("size", Integer, nullable=False, server_default="0"),
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("refreshed_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "name"),
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("entered_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "segment_id", "profile_id"),
    Index("ix_segment_members_profile", "workspace_id", "profile_id"),
)

# Size per day, kept by every refresh and real-time change so the history chart needs no replay.
segment_sizes = Table(
    "segment_sizes",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD in the workspace time zone
    Column("size", Integer, nullable=False),
    Column("entered", Integer, nullable=False, server_default="0"),
    Column("exited", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("workspace_id", "segment_id", "day"),
)

# Auto-tag rules (自动打标签): a segment-language condition that adds or removes one tag.
tag_rules = Table(
    "tag_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("tag_id", Integer, nullable=False),
    Column("action", String(8), nullable=False),  # add | remove
    Column("definition", JSONType, nullable=False),
    Column("status", String(16), nullable=False),  # active | paused | archived
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

# Computed scores per profile: RFM, lifecycle, KOC and customer value. One row per scored
# profile, rewritten by the score jobs; segments read these columns directly.
profile_scores = Table(
    "profile_scores",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("rfm_recency", Integer, nullable=True),  # quintile 1..5, 5 = most recent
    Column("rfm_frequency", Integer, nullable=True),
    Column("rfm_monetary", Integer, nullable=True),
    Column("rfm_segment", String(32), nullable=True),  # champions | loyal | at_risk | ...
    Column("lifecycle_stage", String(16), nullable=True),  # new | active | dormant | churned | won_back
    Column("koc_score", Float, nullable=True),
    Column("p_alive", Float, nullable=True),
    Column("expected_purchases", Float, nullable=True),  # over the fit's horizon
    Column("expected_order_value", Float, nullable=True),
    Column("clv", Float, nullable=True),
    Column("churn_risk", Float, nullable=True),  # 1 - p_alive, kept for readable segments
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "profile_id"),
)

clv_fits = Table(
    "clv_fits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("time_unit", String(8), nullable=False),  # day | week
    Column("calibration_end", String(10), nullable=True),
    Column("customers", Integer, nullable=False),
    Column("parameters", JSONType, nullable=False),  # {"bgnbd": {...}, "gamma_gamma": {...}}
    Column("holdout", JSONType, nullable=True),  # calibration / holdout comparison when asked
    Column("created_at", Timestamp, nullable=False),
    Index("ix_clv_fits_ws_created", "workspace_id", "created_at"),
)

# Marketing spend per channel per month, entered by operators, for cost per customer.
channel_spend = Table(
    "channel_spend",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("channel", String(100), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("amount", Float, nullable=False),
    Column("currency", String(3), nullable=False, server_default="CNY"),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "channel", "month"),
)

# Where each background consumer of the event log has got to, per workspace (segments' real-time
# evaluation, the scheduled refresh). Advanced in the same transaction as the work it records, so
# a crash repeats nothing and skips nothing.
cursors = Table(
    "cursors",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "name"),
)


# --- messaging -----------------------------------------------------------------------------------

# The outbox: every send decision is a row before anything is sent. One row per idempotency key
# (source, step, person; or the caller's key), so a retried request or a re-run journey step can
# never queue a message twice; the delivery worker claims due rows and records what became of each.
messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("source", String(64), nullable=False),  # api | journey:<id> | broadcast:<id> | ...
    Column("idempotency_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(64), nullable=True),  # why stopped, deferred or failed (stable code)
    Column("detail", String(500), nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("payload", JSONType, nullable=False),
    Column("due_at", Timestamp, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", Timestamp, nullable=True),
    Column("provider_id", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("sent_at", Timestamp, nullable=True),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_messages_key"),
    Index("ix_messages_due", "status", "due_at"),
    Index("ix_messages_profile", "workspace_id", "profile_id", "created_at"),
    Index("ix_messages_source", "workspace_id", "source", "status"),  # a broadcast's or journey's figures
)

# A one-off send to a segment (群发). The worker fans it out into outbox rows in chunks, keyed
# ``broadcast:<id>:<profile>`` so a crash mid fan-out repeats nothing; ``fanout_after`` is the last
# profile queued, moved in the same transaction as the rows it covers.
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("segment_id", Integer, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("content", JSONType, nullable=False),
    Column("status", String(16), nullable=False),  # scheduled | sending | done | cancelled
    Column("send_at", Timestamp, nullable=False),
    Column("rate_per_minute", Integer, nullable=True),  # throttle: messages per minute, None = as fast as allowed
    Column("fanout_after", BigInteger, nullable=False, server_default="0"),
    Column("queued", Integer, nullable=False, server_default="0"),
    Column("created_by", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, nullable=True),
    Index("ix_broadcasts_due", "status", "send_at"),
    Index("ix_broadcasts_ws_created", "workspace_id", "created_at"),
)

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


# --- tracked links and delivery receipts (issue 4) -------------------------------------------------

# Tracked links (``/r/<token>``) and e-mail open pixels (``/o/<token>.gif``), made when a message is
# handed to its channel. One row per (message, url) — ``url_key`` is the URL's SHA-256, or "open" for
# the pixel — so a retried send finds the tokens it made the first time. The token alone is the
# address (people click it without any workspace in the URL); ``hits`` and ``last_hit_at`` count
# clicks and opens, and let a double fetch within a few seconds count once.
message_links = Table(
    "message_links",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),  # LinkKind: link | open
    Column("url", Text, nullable=True),  # the original URL; NULL for the open pixel
    Column("url_key", String(64), nullable=False),
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("last_hit_at", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "message_id", "url_key"),
)

# What came back about a sent message: the first delivery receipt, open and click. A row of its own
# instead of columns on ``messages``, so the outbox's hot table is not rewritten to add them and
# receipts that arrive late never contend with the delivery worker's updates.
message_receipts = Table(
    "message_receipts",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Column("opened_at", Timestamp, nullable=True),
    Column("clicked_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("workspace_id", "message_id"),
)

# Receipts name the provider's id (WeChat MsgID, Aliyun BizId): found through this index.
Index("ix_messages_provider", messages.c.workspace_id, messages.c.provider_id)

# --- WeCom and subscribe-message channel state (issue 4) ----------------------------------------

# One-time subscriptions to WeChat subscription notices (一次性订阅): each acceptance lets one
# notice of that template reach the person. A send decision takes the oldest grant not held by a
# message that reached them (``used_by_message``), in the claim transaction, under the person's
# lock; ``idempotency_key`` dedupes a repeated acceptance (a callback WeChat delivered twice).
subscribe_grants = Table(
    "subscribe_grants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=False),
    Column("template_id", String(128), nullable=False),
    Column("granted_at", Timestamp, nullable=False),
    Column("used_by_message", BigInteger, nullable=True),
    Column("source", String(64), nullable=False),  # api | callback | ...
    Column("idempotency_key", String(200), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_subscribe_grants_key"),
    Index("ix_subscribe_grants_person", "workspace_id", "profile_id", "template_id"),
)
