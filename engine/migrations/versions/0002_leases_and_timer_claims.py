"""Leases (one timer scheduler at a time on SQLite) and the index timer claims read.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_timers_claim", "timers", ["state", "due_at", "id"])
    op.drop_index("ix_timers_state_due", table_name="timers")


def downgrade() -> None:
    op.create_index("ix_timers_state_due", "timers", ["state", "due_at"])
    op.drop_index("ix_timers_claim", table_name="timers")
    op.drop_table("leases")
