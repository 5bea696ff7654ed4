"""promoters, attribution touches and the commission ledger (issue 6, part 5)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
