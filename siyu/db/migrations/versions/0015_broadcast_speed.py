"""broadcast fan-out speed (issue 4)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
