"""journeys and channels follow-ups (issue 4)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
