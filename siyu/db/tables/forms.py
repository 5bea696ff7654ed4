"""Tables: hosted forms and landing pages (issue 5)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import JSONType, Timestamp

# --- forms and landing pages (issue 5) -------------------------------------------------------------

# A hosted form (留资页): a public page at ``/f/<slug>`` that captures a phone number, verified by an
# SMS code, with an explicit consent checkbox. ``definition`` is the validated JSON the operator
# wrote (siyu.acquisition.forms); ``version`` goes up with every change, and each submission keeps
# the consent text it showed, so the evidence never depends on today's definition.
forms = Table(
    "forms",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("slug", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # active | archived
    Column("definition", JSONType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("slug", name="uq_forms_slug"),
    Index("ix_forms_workspace", "workspace_id", "id"),
)

# One SMS verification code: written (``sending``) before the provider is called, so a crash leaves
# a record and never a second SMS; only the code's HMAC is kept. ``attempts`` counts wrong guesses.
form_codes = Table(
    "form_codes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("form_id", BigInteger, nullable=False),
    Column("phone", String(32), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # sending | sent | failed | used | locked
    Column("attempts", Integer, nullable=False),
    Column("ip", String(64), nullable=True),
    Column("provider_id", String(128), nullable=True),
    Column("detail", String(500), nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Index("ix_form_codes_phone", "workspace_id", "phone", "created_at"),
    Index("ix_form_codes_ip", "workspace_id", "ip", "created_at"),
)

# A completed form: who (the resolved profile), what they entered, where from, and the consent they
# gave with the exact text they saw (PIPL: consent must be demonstrable). Unique per code, so a
# double-click or a retried request stores one submission.
form_submissions = Table(
    "form_submissions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("form_id", BigInteger, nullable=False),
    Column("form_version", Integer, nullable=False),
    Column("profile_id", BigInteger, nullable=True),
    Column("phone", String(32), nullable=False),
    Column("fields", JSONType, nullable=False),
    Column("channel", JSONType, nullable=False),
    Column("consent", JSONType, nullable=False),  # text shown, language, purposes granted
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(500), nullable=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_form_submissions_key"),
    Index("ix_form_submissions_form", "workspace_id", "form_id", "created_at"),
)

# Page views per form per day (the top of the form's funnel: views → codes → submissions).
form_views = Table(
    "form_views",
    metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("form_id", BigInteger, nullable=False),
    Column("day", String(10), nullable=False),
    Column("views", Integer, nullable=False),
    UniqueConstraint("workspace_id", "form_id", "day", name="uq_form_views_day"),
)
