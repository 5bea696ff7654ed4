"""WeCom and subscribe-message channel state

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401 - filled in by the capability that owns this revision
from alembic import op  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
