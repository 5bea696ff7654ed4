"""fission campaigns, participations and anti-fraud decisions (issue 6, parts 3-4)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
