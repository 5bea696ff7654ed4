"""WeChat / WeCom callbacks, keyword and welcome replies (issue 5)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 18:20:00
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled by the work it is named for


def downgrade() -> None:
    pass
