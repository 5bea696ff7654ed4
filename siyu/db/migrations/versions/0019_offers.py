"""offers, coupon codes, claims and redemptions (issue 6, parts 1-2)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 21:30:00
"""

from __future__ import annotations

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
