"""staff, personas, customer ownership and channel codes (issue 5)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
