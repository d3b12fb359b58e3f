"""Report facts: `revision` becomes the instance's lock_version a row was worked out at
(tasks/report_facts.py), no longer a count of the row's writes. Every row is marked stale
(revision 0, below any lock_version), so the first report rewrites them all once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE report_facts SET revision = 0")


def downgrade() -> None:
    # Before, steps kept every row current and reports filled only missing rows: rows are
    # derived data, so they go, and the reports of that code fill them afresh.
    op.execute("DELETE FROM report_facts")
