"""Tables: what WeCom's ``externalcontact/get`` told about each external contact (issue 5 follow-up)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Table, UniqueConstraint

from siyu.db.tables.base import BigId, metadata
from siyu.db.types import Timestamp

# One row per external contact the worker looked up (path/92114): ``fetched`` with the unionid when
# the corp is bound to a WeChat open platform and the contact is a WeChat user (``contact_type`` 1),
# ``retry`` after an answer that may change (WeCom busy, a token or permission problem) with the
# time of the next try, ``failed`` when WeCom says the contact is not one (84061, 40096). Unique on
# the contact, so a second worker or a second pass writes nothing twice.
wecom_contact_details = Table(
    "wecom_contact_details",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("external_userid", String(128), nullable=False),
    Column("profile_id", BigInteger, nullable=True),  # the profile the contact had when it was looked up
    Column("status", String(16), nullable=False),  # ContactLookup: fetched | retry | failed
    Column("unionid", String(128), nullable=True),
    Column("contact_type", SmallInteger, nullable=True),  # 1 a WeChat user, 2 a WeCom user (path/92114)
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("fetched_at", Timestamp, nullable=True),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("workspace_id", "external_userid", name="uq_wecom_contact_details_contact"),
    Index("ix_wecom_contact_details_due", "workspace_id", "status", "next_attempt_at"),
)
