"""community groups, group live codes and posters (issue 5)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
