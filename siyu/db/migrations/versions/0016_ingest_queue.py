"""acknowledged ingest waiting for resolution (issue 2)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
